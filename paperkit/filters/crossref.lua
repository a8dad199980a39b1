--[[
Quarto-compatible cross-references for the self-render path of paperkit/render.py.

Runs once, before --citeproc, on the whole document; the three writers then read the
resulting AST, so numbers are identical in HTML, DOCX and Typst. The filter numbers
figures (id fig-*), tables (id tbl-*) and sections itself and writes the prefixes
("Figure 1: ", "1 ") into the text, which is why the Typst header disables Typst's
own figure numbering: every prefix appears exactly once.

Problems are not rendered as placeholders: they are collected and reported in one
error whose lines start with "RENDER-ERROR <kind>: <id>", which render.py maps back
to source file and line.

Metadata read (set by render.py): render-number-sections (bool),
render-project-dir (string: image paths are resolved against it).
--]]

local stringify = pandoc.utils.stringify

-- Words used in references (prefix) and captions (title); Quarto's crossref options
-- fig-prefix/fig-title etc. (fig, tbl, sec, eq) arrive as metadata
-- render-crossref.<kind>-prefix/-title.
local PREFIXES = {
  fig = { "Figure", "Figure" },
  tbl = { "Table", "Table" },
  sec = { "Section", "Section" },
  eq = { "Equation", "Equation" },
  lst = { "Listing", "Listing" },
}

-- Quarto's theorem-like environments: a div with such an id, numbered per kind, its
-- title "Theorem 1 (Name)" (name from a heading opening the div, or name=) in bold
-- before the first paragraph, referenced as "Theorem 1".
local THEOREMS = {
  thm = "Theorem", lem = "Lemma", cor = "Corollary", prp = "Proposition",
  cnj = "Conjecture", def = "Definition", exm = "Example", exr = "Exercise",
}
for kind, word in pairs(THEOREMS) do
  PREFIXES[kind] = { word, word }
end
-- Callouts with an id of these prefixes are numbered per prefix ("Tip 1: title").
local CALLOUT_XREFS = { nte = "Note", tip = "Tip", wrn = "Warning", imp = "Important",
  cau = "Caution" }
for kind, word in pairs(CALLOUT_XREFS) do
  PREFIXES[kind] = { word, word }
end
local callout_targets, callout_counts = {}, {}

-- Quarto cross-reference kinds this renderer does not implement: a reference to one, or
-- an element labelled with one, stops the render naming the feature (render.py maps the
-- prefix to its name), instead of being mistaken for a citation or an undefined label.
local REFUSED_KINDS = {
  sol = true, rem = true, alg = true, -- solutions, remarks, algorithms
}

local function refused_kind(id)
  local k = id:match("^(%a%a%a)%-")
  return k and REFUSED_KINDS[k:lower()] and k:lower() or nil
end

local function read_prefixes(meta)
  local conf = meta["render-crossref"]
  if not conf then
    return
  end
  for kind, words in pairs(PREFIXES) do
    if conf[kind .. "-prefix"] then
      words[1] = stringify(conf[kind .. "-prefix"])
    end
    if conf[kind .. "-title"] then
      words[2] = stringify(conf[kind .. "-title"])
    end
  end
end

local problems = {}
local refused_targets = {} -- labels already refused: references to them are not reported again
local function problem(kind, id)
  table.insert(problems, "RENDER-ERROR " .. kind .. ": " .. id)
  refused_targets[id] = true
end

local function kind_of(id)
  local k = id:match("^(%a%a%a)%-") or id:match("^(%a%a)%-")
  if k and PREFIXES[k:lower()] then
    return k:lower()
  end
  return nil
end

-- Pagebreak marker written by render.py for {{< pagebreak >}}.
local function pagebreak()
  return {
    pandoc.RawBlock("html", '<div style="page-break-after: always;"></div>'),
    pandoc.RawBlock("openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'),
    pandoc.RawBlock("typst", "#pagebreak()"),
  }
end

local function only_image(block)
  if (block.t == "Para" or block.t == "Plain") and #block.content >= 1 then
    for _, il in ipairs(block.content) do
      if il.t ~= "Image" and il.t ~= "Space" and il.t ~= "SoftBreak" then
        return false
      end
    end
    return true
  end
  return false
end

-- ::: {#fig-x} ... ::: -> Figure; the last paragraph that is not an image is the caption.
local function figure_div(div)
  local blocks = div.content
  local caption = {}
  local last = blocks[#blocks]
  if #blocks > 1 and last.t == "Para" and not only_image(last) then
    caption = { pandoc.Plain(last.content) }
    blocks = pandoc.Blocks({ table.unpack(blocks, 1, #blocks - 1) })
  end
  local content = {}
  for _, b in ipairs(blocks) do
    if b.t == "Para" and only_image(b) then
      table.insert(content, pandoc.Plain(b.content))
    elseif b.t == "Figure" then
      -- an implicit figure inside the div: keep only its image
      for _, inner in ipairs(b.content) do
        table.insert(content, inner)
      end
      if #caption == 0 then
        caption = b.caption.long
      end
    else
      table.insert(content, b)
    end
  end
  local alt = stringify(caption)
  content = pandoc.Blocks(content):walk({
    Image = function(img)
      if #img.caption == 0 then
        local text = img.attributes["fig-alt"] or alt
        img.attributes["fig-alt"] = nil
        img.caption = { pandoc.Str(text) }
      end
      return img
    end,
  })
  return pandoc.Figure(content, pandoc.Caption(caption), div.attr)
end

-- ::: {#fig-x layout-ncol=2} with two or more images labelled #fig-a, #fig-b and a caption
-- paragraph: Quarto's subfigures, lettered "(a)", "(b)", side by side in `layout-ncol`
-- columns (typst grid, HTML flex row; stacked in DOCX and JATS). Other shapes: nil.
local function subfigure_parts(div)
  for name, _ in pairs(div.attributes) do
    if name:match("^layout") and name ~= "layout-ncol" then
      return nil
    end
  end
  local ncol = div.attributes["layout-ncol"]
  if ncol and not ncol:match("^%d+$") then
    return nil
  end
  local blocks = div.content
  local last = blocks[#blocks]
  if #blocks < 3 or last.t ~= "Para" or only_image(last) then
    return nil
  end
  local subs = {}
  for i = 1, #blocks - 1 do
    local b = blocks[i]
    local img = nil
    if b.t == "Figure" and #b.content == 1 and b.content[1].t == "Plain"
        and #b.content[1].content == 1 and b.content[1].content[1].t == "Image" then
      img = b.content[1].content[1]
      img.identifier = b.identifier
      img.caption = pandoc.utils.blocks_to_inlines(b.caption.long)
    elseif b.t == "Para" and #b.content == 1 and b.content[1].t == "Image" then
      img = b.content[1]
    end
    if not img or kind_of(img.identifier) ~= "fig" then
      return nil
    end
    table.insert(subs, img)
  end
  return subs, tonumber(ncol or "1"), last.content
end

function subfigure_figure(div, subs, ncol, caption)
  local content = pandoc.Blocks({})
  if ncol > 1 then
    content:insert(pandoc.RawBlock("typst", "#grid(columns: " .. ncol .. ", gutter: 1em, ["))
    content:insert(pandoc.RawBlock("html", '<div style="display: flex; gap: 1em;">'
      .. '<div style="flex: 1;">'))
  end
  for i, img in ipairs(subs) do
    if i > 1 and ncol > 1 then
      content:insert(pandoc.RawBlock("typst", "], ["))
      content:insert(pandoc.RawBlock("html", '</div><div style="flex: 1;">'))
    end
    local id = img.identifier
    local cap = img.caption
    img.identifier = ""
    img.caption = { pandoc.Str(stringify(cap)) }
    if ncol > 1 then
      img.attributes["width"] = "100%"
    end
    content:insert(pandoc.Figure({ pandoc.Plain({ img }) }, pandoc.Caption({ pandoc.Plain(cap) }),
      { id = id, ["render-sub"] = string.char(96 + i) }))
  end
  if ncol > 1 then
    content:insert(pandoc.RawBlock("typst", "])"))
    content:insert(pandoc.RawBlock("html", "</div></div>"))
  end
  div.attributes["layout-ncol"] = nil
  return pandoc.Figure(content, pandoc.Caption({ pandoc.Plain(caption) }), div.attr)
end

-- ::: {#tbl-x} ... ::: -> the table carries the id; a trailing paragraph is the caption.
local function table_div(div)
  local tbl_index
  for i, b in ipairs(div.content) do
    if b.t == "Table" then
      if tbl_index then
        return div -- several tables: leave the div, the id stays on it
      end
      tbl_index = i
    end
  end
  if not tbl_index then
    problem("table-div-without-table", div.identifier)
    return div
  end
  local tbl = div.content[tbl_index]
  local rest = {}
  for i, b in ipairs(div.content) do
    if i ~= tbl_index then
      table.insert(rest, b)
    end
  end
  -- The div's trailing paragraph (tbl-cap) is the caption, replacing any caption the
  -- table carried itself, as in Quarto: a table never shows two captions.
  if #rest >= 1 and rest[#rest].t == "Para" then
    tbl.caption.long = { pandoc.Plain(rest[#rest].content) }
    table.remove(rest)
  end
  tbl.identifier = div.identifier
  if #rest == 0 then
    return tbl
  end
  div.identifier = ""
  div.content = pandoc.Blocks({ tbl, table.unpack(rest) })
  return div
end

-- Image paths are relative to the project. render.py runs pandoc and typst in a scratch
-- directory holding a link "project" to the project, so "project/<src>" reaches every
-- image from every writer without absolute paths (which DOCX would store). Missing
-- files fail here rather than as a writer warning.
local function resolve_image(img, project_dir)
  local src = img.src
  if src:match("^%a[%w+.-]*:") then
    return nil
  end
  local full = pandoc.path.is_absolute(src) and src or pandoc.path.join({ project_dir, src })
  local fh = io.open(full, "rb")
  if not fh then
    fh = io.open(src, "rb") -- relative to the scratch directory (embedded cell outputs)
  end
  if not fh then
    problem("missing-image", src)
    return nil
  end
  fh:close()
  if not pandoc.path.is_absolute(src) and not src:match("^embed/") then
    img.src = pandoc.path.join({ "project", src })
    return img
  end
  return nil
end

-- Quarto callouts. In typst, the `callout` function of the layout partial
-- (typst-template.typ) draws them, called with the arguments Quarto's writer passes;
-- in HTML, a framed block with the type's title.
local CALLOUTS = {
  note = { "Note", "#0758e5", "#dae6fb" },
  tip = { "Tip", "#00a047", "#ccf1e3" },
  warning = { "Warning", "#ffc107", "#fcefdc" },
  important = { "Important", "#cc1914", "#f7dddc" },
  caution = { "Caution", "#fd7e14", "#ffe5d0" },
}

-- The callout's title as Quarto takes it: the title attribute, else a heading that opens
-- the callout (removed from the body), else the type's name.
local function callout_title(div, default)
  if div.attributes["title"] then
    return pandoc.Inlines(div.attributes["title"])
  end
  local first = div.content[1]
  if first and first.t == "Header" then
    div.content:remove(1)
    return first.content
  end
  return pandoc.Inlines({ pandoc.Str(default) })
end

local function callout(div, kind)
  local title_text, colour, fill = table.unpack(CALLOUTS[kind])
  local xref = div.identifier:match("^(%a%a%a)%-")
  xref = xref and CALLOUT_XREFS[xref] and xref or nil
  local given = div.attributes["title"] or (div.content[1] and div.content[1].t == "Header")
  local title = callout_title(div, title_text)
  if xref then -- numbered as Quarto numbers it: "Tip 1: title", or "Tip 1"
    callout_counts[xref] = (callout_counts[xref] or 0) + 1
    local num = tostring(callout_counts[xref])
    callout_targets[div.identifier] = { kind = xref, num = num }
    local label = pandoc.Inlines({ pandoc.Str(CALLOUT_XREFS[xref] .. " " .. num) })
    title = given and (label .. { pandoc.Str(":"), pandoc.Space() } .. title) or label
  end
  local html_open = '<div class="callout callout-' .. kind .. '" style="border: 1px solid '
    .. colour .. "; border-left: 5px solid " .. colour .. "; padding: 0.5em 1em; margin: 1em 0;\">"
  local blocks = pandoc.Blocks({
    pandoc.RawBlock("typst", '#callout(background_color: rgb("' .. fill .. '"), icon_color: rgb("'
      .. colour .. '"), title: ['),
    pandoc.RawBlock("html", html_open),
    pandoc.Plain({ pandoc.Strong(title) }),
    pandoc.RawBlock("typst", "], body: ["),
  })
  blocks:extend(div.content)
  blocks:extend({ pandoc.RawBlock("typst", "])"), pandoc.RawBlock("html", "</div>") })
  if xref then
    return pandoc.Div(blocks, { id = div.identifier })
  end
  return blocks
end

-- Classes and attributes with a meaning in Quarto that this renderer does not implement:
-- refusing them beats silently printing a plain div where Quarto draws something else.
local QUARTO_CLASS_PATTERNS = {
  "^callout", "^column%-", "^page%-", "^panel%-", "^content%-visible$", "^content%-hidden$",
  "^cell", "^hidden$", "^aside$", "^margin%-", "^lightbox$", "^quarto%-", "^layout",
  "^theorem$", "^lemma$", "^proof$", "^remark$", "^solution$", "^incremental$",
  "^nonincremental$", "^fragment$", "^r%-stack$", "^smaller$", "^scrollable$",
}
local QUARTO_ATTRIBUTES = { "layout", "layout-ncol", "layout-nrow", "layout-align",
  "layout-valign", "fig-pos", "fig-env", "tbl-colwidths", "column", "when-format",
  "unless-format", "when-meta", "unless-meta", "filename", "code-line-numbers" }
local IMPLEMENTED = { appendix = true, unnumbered = true, claim = true }

local function check_quarto(el)
  if el.identifier and refused_kind(el.identifier) then
    problem("unsupported-xref", el.identifier)
  end
  for _, class in ipairs(el.classes) do
    if not IMPLEMENTED[class] then
      for _, pattern in ipairs(QUARTO_CLASS_PATTERNS) do
        if class:match(pattern) then
          problem("unsupported-class", class)
        end
      end
    end
  end
  for _, name in ipairs(QUARTO_ATTRIBUTES) do
    if el.attributes[name] then
      problem("unsupported-attribute", name)
    end
  end
end

-- A figure inside a figure is a Quarto subfigure (lettered, with its own caption).
function check_subfigures(div)
  div.content:walk({
    Div = function(inner)
      if kind_of(inner.identifier) == "fig" then
        problem("unsupported-subfigure", inner.identifier)
      end
    end,
    Image = function(img)
      if kind_of(img.identifier) == "fig" then
        problem("unsupported-subfigure", img.identifier)
      end
    end,
    Figure = function(fig)
      if kind_of(fig.identifier) == "fig" then
        problem("unsupported-subfigure", fig.identifier)
      end
    end,
  })
end

-- `$$ x $$ {#eq-a}`: pandoc reads the label as text after the display math. The pair
-- becomes a span with the label's id, numbered later by number_everything.
function label_equations(block)
  local inlines, changed = block.content, false
  local out = pandoc.Inlines({})
  local i = 1
  while i <= #inlines do
    local el = inlines[i]
    local j = i + 1
    while inlines[j] and (inlines[j].t == "Space" or inlines[j].t == "SoftBreak") do
      j = j + 1
    end
    local label = el.t == "Math" and el.mathtype == "DisplayMath" and inlines[j]
      and inlines[j].t == "Str" and inlines[j].text:match("^{#(eq%-[%w_:.-]+)}$")
    if label then
      out:insert(pandoc.Span({ el }, { id = label, class = "render-equation" }))
      changed = true
      i = j + 1
    else
      out:insert(el)
      i = i + 1
    end
  end
  if changed then
    block.content = out
    return block
  end
end

-- A code listing: ```{#lst-x lst-cap="..."}; numbered like a table, caption above.
function listing(cb)
  local cap = cb.attributes["lst-cap"]
  if not cap then
    problem("listing-without-caption", cb.identifier)
    return nil
  end
  cb.attributes["lst-cap"] = nil
  local id = cb.identifier
  cb.identifier = ""
  local caption = pandoc.read(cap, "markdown").blocks[1]
  local inlines = caption and caption.content or pandoc.Inlines({})
  return pandoc.Div({ pandoc.Para(inlines), cb }, { id = id, class = "render-listing" })
end

function theorem_div(div)
  local name = div.attributes["name"]
  local first = div.content[1]
  if not name and first and first.t == "Header" then
    name = first.content
    div.content:remove(1)
  end
  div.attributes["name"] = nil
  div.classes:insert("render-theorem")
  div.attributes["render-name"] = name and stringify(name) or nil
  return div
end

local function normalise(doc, project_dir)
  return doc:walk({
    Span = function(span)
      check_quarto(span)
    end,
    Header = function(h)
      check_quarto(h)
    end,
    Image = function(img)
      return resolve_image(img, project_dir)
    end,
    CodeBlock = function(cb)
      check_quarto(cb)
      if kind_of(cb.identifier) == "lst" then
        return listing(cb)
      end
    end,
    Para = label_equations,
    Plain = label_equations,
    Div = function(div)
      if div.classes:includes("render-pagebreak") then
        return pagebreak()
      end
      local kind = div.classes[1] and div.classes[1]:match("^callout%-(%a+)$")
      if kind and CALLOUTS[kind] then
        return callout(div, kind)
      end
      if kind_of(div.identifier) == "fig" then
        local subs, ncol, caption = subfigure_parts(div)
        if subs then
          div.attributes["layout-ncol"] = nil
          check_quarto(div)
          return subfigure_figure(div, subs, ncol, caption)
        end
      end
      check_quarto(div)
      local k = kind_of(div.identifier)
      if k and THEOREMS[k] then
        return theorem_div(div)
      elseif k == "lst" then
        problem("unsupported-listing-div", div.identifier)
      elseif k == "fig" then
        check_subfigures(div)
        return figure_div(div)
      elseif k == "tbl" then
        return table_div(div)
      end
    end,
  })
end

local function prefix_caption(long, label)
  local lead = { pandoc.Str(label .. ":") }
  if #long == 0 then
    return { pandoc.Plain({ pandoc.Str(label) }) }
  end
  local first = long[1]
  if first.t == "Plain" or first.t == "Para" then
    first.content = pandoc.Inlines(lead) .. { pandoc.Space() } .. first.content
  else
    table.insert(long, 1, pandoc.Plain(lead))
  end
  return long
end

local function section_number(counters, level, top, appendix)
  local depth = level - top + 1
  for i = 1, depth - 1 do
    counters[i] = counters[i] or 0
  end
  counters[depth] = (counters[depth] or 0) + 1
  for i = depth + 1, #counters do
    counters[i] = nil
  end
  local parts = {}
  for i = 1, depth do
    local n = counters[i]
    if i == 1 and appendix then
      table.insert(parts, string.char(64 + n))
    else
      table.insert(parts, tostring(n))
    end
  end
  return table.concat(parts, ".")
end

local function number_everything(doc, number_sections)
  local targets = {}
  local counts = { fig = 0, tbl = 0, eq = 0 }
  for kind in pairs(THEOREMS) do
    counts[kind] = 0
  end
  local top = 99
  doc.blocks:walk({
    Header = function(h)
      if not h.classes:includes("unnumbered") then
        top = math.min(top, h.level)
      end
    end,
  })
  local counters, appendix = {}, false
  local function register(id, entry)
    if id == "" then
      return
    end
    if targets[id] then
      problem("duplicate-label", id)
    end
    targets[id] = entry
  end

  doc.blocks = doc.blocks:walk({
    traverse = "topdown",
    Figure = function(fig)
      if kind_of(fig.identifier) ~= "fig" then
        return nil
      end
      local letter = fig.attributes["render-sub"]
      if letter then -- a subfigure: "(a) caption", referenced "Figure 1a" / "Figure 1 (a)"
        fig.attributes["render-sub"] = nil
        register(fig.identifier, { kind = "fig", num = tostring(counts.fig), sub = letter })
        local first = fig.caption.long[1]
        first.content = pandoc.Inlines({ pandoc.Str("(" .. letter .. ")"), pandoc.Space() })
          .. first.content
        return fig
      end
      counts.fig = counts.fig + 1
      local num = tostring(counts.fig)
      register(fig.identifier, { kind = "fig", num = num })
      fig.caption.long = prefix_caption(fig.caption.long, PREFIXES.fig[2] .. " " .. num)
      return fig
    end,
    Table = function(tbl)
      if kind_of(tbl.identifier) ~= "tbl" then
        return nil
      end
      counts.tbl = counts.tbl + 1
      local num = tostring(counts.tbl)
      register(tbl.identifier, { kind = "tbl", num = num })
      tbl.caption.long = prefix_caption(tbl.caption.long, PREFIXES.tbl[2] .. " " .. num)
      return tbl
    end,
    Div = function(div)
      if div.classes:includes("render-listing") then
        counts.lst = (counts.lst or 0) + 1
        local num = tostring(counts.lst)
        register(div.identifier, { kind = "lst", num = num })
        local para = div.content[1]
        local lead = { pandoc.Str(PREFIXES.lst[2] .. " " .. num .. ":") }
        if #para.content > 0 then
          table.insert(lead, pandoc.Space())
        end
        para.content = pandoc.Inlines(lead) .. para.content
        div.classes = pandoc.List({})
        return div
      end
      if not div.classes:includes("render-theorem") then
        return nil
      end
      local kind = kind_of(div.identifier)
      counts[kind] = counts[kind] + 1
      local num = tostring(counts[kind])
      register(div.identifier, { kind = kind, num = num })
      local title = PREFIXES[kind][2] .. " " .. num
      if div.attributes["render-name"] then
        title = title .. " (" .. div.attributes["render-name"] .. ")"
      end
      div.attributes["render-name"] = nil
      div.classes = div.classes:filter(function(c) return c ~= "render-theorem" end)
      -- Quarto's typst output ends the title with a period, its HTML and DOCX do not
      local lead = { pandoc.Strong({ pandoc.Str(title), pandoc.RawInline("typst", ".") }),
        pandoc.Space() }
      local first = div.content[1]
      if first and first.t == "Para" then
        first.content = pandoc.Inlines(lead) .. first.content
      else
        div.content:insert(1, pandoc.Para({ pandoc.Strong({ pandoc.Str(title) }) }))
      end
      return div
    end,
    Span = function(span)
      if not span.classes:includes("render-equation") then
        return nil
      end
      counts.eq = counts.eq + 1
      local num = tostring(counts.eq)
      register(span.identifier, { kind = "eq", num = num })
      local math = span.content[1]
      -- the TeX as written (the typst writer converts it, see typst.lua), then the number
      span.attributes["tex"] = math.text
      span.attributes["number"] = num
      math.text = math.text .. "\\qquad(" .. num .. ")"
      return span
    end,
    Header = function(h)
      local text = stringify(h.content)
      if h.classes:includes("appendix") and h.level == top then
        appendix = true
        counters = {}
      end
      -- Quarto numbers every section for references, also without number-sections
      -- (HTML and DOCX then write "Section 3"); only numbered ones show the number.
      local num = nil
      if not h.classes:includes("unnumbered") then
        num = section_number(counters, h.level, top, appendix)
      end
      if num and number_sections then
        local span = pandoc.Span({ pandoc.Str(num) }, { class = "header-section-number" })
        h.content = pandoc.Inlines({ span, pandoc.Space() }) .. h.content
      end
      if kind_of(h.identifier) == "sec" then
        register(h.identifier, { kind = "sec", num = num, text = text })
      end
      return h
    end,
  })
  return targets
end

local function xref_text(entry)
  local words = PREFIXES[entry.kind]
  if entry.kind == "sec" and not entry.num then
    return entry.text
  end
  -- Quarto writes "Figure 1" for both @fig-x and @Fig-x by default.
  return words[1] .. " " .. entry.num
end

local function resolve_cite(cite, targets, known_refs, sec_refs)
  local all_xref = true
  for _, c in ipairs(cite.citations) do
    if refused_kind(c.id) and not known_refs[c.id] then
      problem("unsupported-xref", c.id)
      return nil
    end
    if not kind_of(c.id) then
      all_xref = false
    end
  end
  if not all_xref then
    for _, c in ipairs(cite.citations) do
      if not known_refs[c.id] then
        problem(kind_of(c.id) and "unresolved-xref" or "unknown-citation", c.id)
      end
    end
    return nil
  end
  local out = pandoc.Inlines({})
  for i, c in ipairs(cite.citations) do
    local key = c.id:sub(1, 1):lower() .. c.id:sub(2)
    local entry = targets[key]
    if not entry and refused_targets[key] then
      return nil
    elseif not entry then
      problem("unresolved-xref", c.id)
    else
      if i > 1 then
        out:insert(pandoc.Str(","))
        out:insert(pandoc.Space())
      end
      if #c.prefix > 0 then
        out:extend(c.prefix)
        out:insert(pandoc.Space())
      end
      if entry.kind == "sec" then
        table.insert(sec_refs, key)
      end
      local label
      if c.mode == "SuppressAuthor" then
        label = entry.num or entry.text
      else
        label = xref_text(entry)
      end
      local text = pandoc.Inlines({ pandoc.Str(label) })
      if entry.sub then -- Quarto's typst writes "Figure 1a", its HTML and DOCX "Figure 1 (a)"
        text:insert(pandoc.RawInline("typst", entry.sub))
        text:insert(pandoc.Span({ pandoc.Space(), pandoc.Str("(" .. entry.sub .. ")") },
          { class = "render-not-typst" }))
      end
      out:insert(pandoc.Link(text, "#" .. key))
      if #c.suffix > 0 then
        out:extend(c.suffix)
      end
    end
  end
  return out
end

function Pandoc(doc)
  local number_sections = doc.meta["render-number-sections"] == true
  read_prefixes(doc.meta)
  local project_dir = stringify(doc.meta["render-project-dir"] or ".")
  doc = normalise(doc, project_dir)
  local targets = number_everything(doc, number_sections)
  for id, entry in pairs(callout_targets) do
    if targets[id] then
      problem("duplicate-label", id)
    end
    targets[id] = entry
  end
  local known_refs = {}
  for _, ref in ipairs(pandoc.utils.references(doc)) do
    known_refs[ref.id] = true
  end
  local sec_refs = {}
  doc = doc:walk({
    Cite = function(cite)
      return resolve_cite(cite, targets, known_refs, sec_refs)
    end,
  })
  -- Quarto's typst output cannot reference a section that typst does not number.
  if not number_sections and doc.meta["render-typst"] == true then
    for _, key in ipairs(sec_refs) do
      problem("unnumbered-section-xref", key)
    end
  end
  if #problems > 0 then
    error("\n" .. table.concat(problems, "\n") .. "\n", 0)
  end
  doc.meta["render-number-sections"] = nil
  doc.meta["render-project-dir"] = nil
  doc.meta["render-crossref"] = nil
  doc.meta["render-typst"] = nil
  return doc
end
