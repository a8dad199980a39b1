-- Numbers and claims traceable from the page (records: paperkit/trace.py).
--
-- Every value of a `{{< var key >}}` shortcode becomes a span carrying data-var="key".
-- The self-render writes those spans itself ([value]{.data-var data-var="key"}); under
-- Quarto this filter runs at `pre-ast`, where a shortcode is still a `quarto-shortcode__`
-- span, and wraps it (Quarto then resolves the shortcode inside the wrapper). In the
-- abstract (the one field of the front matter traced, as in the self-render) Quarto's
-- reader leaves a shortcode as its words at pre-ast (Str "{{<", "var", key, ">}}"); those
-- words are wrapped the same way.
-- In the HTML the span gets a tooltip (hover, or tap/focus; set under the line across
-- the paragraph, so that it never leaves the page) with the key, the unrounded
-- value, the rule and function that computed it and its input files with checksums, and
-- a link to the key's entry (#var-<key>) in the "Numbers and claims" appendix. Each claim
-- span [..]{.claim #clm-x} gets a mark linking to its appendix entry, which carries the
-- claim's id as anchor; the span itself becomes #clm-x-text (in every format, so the two
-- never collide). Other formats show the values as plain text.

local RECORDS = "_traces.json"
local records = nil -- without records (a paper with no trace rule) no tooltips or links
local is_html = FORMAT:match("html") ~= nil

local STYLE = [[
<style>
p, li, dd, blockquote, .abstract, section { position: relative; }
.data-var { border-bottom: 1px dotted #7a7a7a; cursor: help; }
.data-var:focus { outline: 1px solid #3b6ea5; }
.data-var-tip { display: none; position: absolute; left: 0; right: 0; margin-top: 1.5em;
  z-index: 20; padding: .45em .6em; font-size: .8rem;
  line-height: 1.35; text-align: left; background: #fff; color: #222;
  border: 1px solid #bbb; border-radius: 4px; box-shadow: 0 2px 6px rgba(0,0,0,.15); }
.data-var:hover > .data-var-tip, .data-var:focus > .data-var-tip,
.data-var:focus-within > .data-var-tip { display: block; }
.data-var-tip code { font-size: .75rem; overflow-wrap: anywhere; }
.claim-mark { font-size: .7em; vertical-align: super; text-decoration: none; }
@media print { .data-var { border-bottom: none; } .data-var-tip, .claim-mark { display: none; } }
</style>
]]

-- The records: where the self-render says (metadata datavar-records), else, as Quarto
-- runs filters in the project folder, the project's own _traces.json.
local function read_records(meta)
  local paths = {}
  if meta["datavar-records"] then
    table.insert(paths, pandoc.utils.stringify(meta["datavar-records"]))
  end
  if quarto and quarto.project and quarto.project.directory then
    table.insert(paths, quarto.project.directory .. "/" .. RECORDS)
  end
  table.insert(paths, RECORDS)
  for _, path in ipairs(paths) do
    local fh = io.open(path, "r")
    if fh then
      local text = fh:read("a")
      fh:close()
      records = pandoc.json.decode(text, false)
      return
    end
  end
end

local function code(text)
  return pandoc.Code(tostring(text))
end

local function tip(key)
  local rec = records.vars and records.vars[key]
  local parts = pandoc.List({ pandoc.Str("Key"), pandoc.Space(), code(key) })
  if rec then
    parts:extend({ pandoc.Str("; unrounded"), pandoc.Space(), code(rec.unrounded),
      pandoc.Str("; rule"), pandoc.Space(), code(rec.rule) })
    if rec["function"] and rec["function"] ~= "" then
      parts:extend({ pandoc.Str(", function"), pandoc.Space(), code(rec["function"]) })
    end
    if rec.inputs and #rec.inputs > 0 then
      parts:extend({ pandoc.Str("; inputs:") })
      for i, input in ipairs(rec.inputs) do
        parts:extend({ pandoc.Space(), code(input.file), pandoc.Space(),
          pandoc.Str("(SHA-256"), pandoc.Space(), code(input.sha256),
          pandoc.Str(i < #rec.inputs and ")," or ")") })
      end
    end
  end
  parts:extend({ pandoc.Str("."), pandoc.Space(),
    pandoc.Link({ pandoc.Str("Entry in Numbers and claims") }, "#var-" .. key) })
  return pandoc.Span(parts, pandoc.Attr("", { "data-var-tip" }, { role = "tooltip" }))
end

-- The element a value becomes: data-var="key" in every format; a tooltip in the HTML.
local function traced(content, key)
  local inner = pandoc.List(content)
  if is_html and records then
    inner:insert(tip(key))
  end
  -- attributes as an ordered list of pairs: a Lua table would order them at random
  local attributes = { { "data-var", key } }
  if is_html then
    table.insert(attributes, { "tabindex", "0" })
  end
  return pandoc.Span(inner, pandoc.Attr("", { "data-var" }, attributes))
end

-- The key of a Quarto `var` shortcode span (pre-ast), else nil.
local function shortcode_var(span)
  if not span.classes:includes("quarto-shortcode__") then
    return nil
  end
  local params = {}
  for _, el in ipairs(span.content) do
    if el.t == "Span" and el.classes:includes("quarto-shortcode__-param") then
      table.insert(params, el.attributes["data-value"])
    end
  end
  if params[1] == "var" and params[2] then
    return params[2]
  end
  return nil
end

local function claim(span)
  local id = span.identifier
  span.identifier = id .. "-text"
  if is_html and records and records.claims and records.claims[id] then
    span.content:insert(pandoc.Link({ pandoc.Str("\u{2713}") }, "#" .. id, "",
      pandoc.Attr("", { "claim-mark" }, { title = "Checked claim " .. id .. ": see its entry" })))
  end
  return span
end

local function Span(span)
  if span.classes:includes("data-var") and span.attributes["data-var"] then
    return traced(span.content, span.attributes["data-var"])
  end
  local key = shortcode_var(span)
  if key then
    return traced({ span }, key)
  end
  if span.classes:includes("claim") and span.identifier:match("^clm%-") then
    return claim(span)
  end
  return nil
end

local function is_str(el, text)
  return el ~= nil and el.t == "Str" and (text == nil or el.text == text)
end

local function is_space(el)
  return el ~= nil and (el.t == "Space" or el.t == "SoftBreak")
end

-- The key of a `{{< var key >}}` written as words from inlines[i] on (its first word may
-- carry text before "{{<", its last text after ">}}": "({{<", ">}}%"), else nil.
local function var_words(inlines, i)
  local open, close = inlines[i], inlines[i + 6]
  if not is_str(open) or not open.text:match("{{<$") or open.text:match("{{{<$") then
    return nil
  end
  if is_space(inlines[i + 1]) and is_str(inlines[i + 2], "var") and is_space(inlines[i + 3])
      and is_str(inlines[i + 4]) and is_space(inlines[i + 5]) and is_str(close)
      and close.text:match("^>}}") and not close.text:match("^>}}}") then
    return inlines[i + 4].text
  end
  return nil
end

-- Metadata inlines with each `var` shortcode (still words, under Quarto) as a data-var
-- span around the shortcode, which Quarto then resolves inside it.
local function meta_shortcodes(inlines)
  local out = pandoc.Inlines({})
  local i = 1
  while i <= #inlines do
    local key = var_words(inlines, i)
    if key then
      local before, after = inlines[i].text:sub(1, -4), inlines[i + 6].text:sub(4)
      if before ~= "" then
        out:insert(pandoc.Str(before))
      end
      local words = { pandoc.Str("{{<"), pandoc.Space(), pandoc.Str("var"), pandoc.Space(),
        pandoc.Str(key), pandoc.Space(), pandoc.Str(">}}") }
      out:insert(pandoc.Span(words, pandoc.Attr("", { "data-var" }, { { "data-var", key } })))
      if after ~= "" then
        out:insert(pandoc.Str(after))
      end
      i = i + 7
    else
      out:insert(inlines[i])
      i = i + 1
    end
  end
  return out
end

function Pandoc(doc)
  if is_html then -- only the HTML shows them (tooltips, claim marks)
    read_records(doc.meta)
  end
  doc.meta["datavar-records"] = nil
  -- the abstract (the one traced field of the front matter, as in the self-render) and
  -- the body walked apart: each data-var span is traced once
  if doc.meta.abstract then
    local abstract = pandoc.Pandoc({}, { abstract = doc.meta.abstract })
    abstract = abstract:walk({ Inlines = meta_shortcodes }):walk({ Span = Span })
    doc.meta.abstract = abstract.meta.abstract
  end
  doc.blocks = doc.blocks:walk({ Span = Span })
  if is_html then
    doc.blocks:insert(1, pandoc.RawBlock("html", STYLE))
  end
  return doc
end
