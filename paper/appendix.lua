-- paperkit: the self-render implements this filter
-- Quarto filter of this paper (the self-render does the same in paperkit/filters/crossref.lua):
-- the `{.appendix}` section and its subsections are lettered, "A", "A.1", ..., in every
-- format. In the PDF typst numbers the headings; elsewhere Quarto would continue the
-- section numbers ("6", "6.1"), so the headings are numbered here and marked unnumbered.
-- In HTML the heading loses the class: Quarto would move an `.appendix` section out of
-- the text into its appendix area, which the table of contents leaves out.

local function numbered(h, label)
  h.classes:insert("unnumbered")
  h.content:insert(1, pandoc.Space())
  h.content:insert(1, pandoc.Span({ pandoc.Str(label) }, { class = "header-section-number" }))
  return h
end

function Pandoc(doc)
  if quarto.doc.is_format("typst") then
    return nil
  end
  local top, counters = nil, {}
  for _, block in ipairs(doc.blocks) do
    if block.t == "Header" then
      if top == nil and block.classes:includes("appendix") then
        top = block.level
        numbered(block, "A")
        if quarto.doc.is_format("html") then
          block.classes = block.classes:filter(function(c) return c ~= "appendix" end)
        end
      elseif top ~= nil and block.level <= top then
        top = nil -- a section after the appendix: numbered as usual
      elseif top ~= nil and not block.classes:includes("unnumbered") then
        local depth = block.level - top
        counters[depth] = (counters[depth] or 0) + 1
        for deeper = depth + 1, #counters do
          counters[deeper] = nil
        end
        local parts = { "A" }
        for i = 1, depth do
          parts[#parts + 1] = tostring(counters[i] or 0)
        end
        numbered(block, table.concat(parts, "."))
      end
    end
  end
  return doc
end

function Header(h)
  if quarto.doc.is_format("typst") and h.classes:includes("appendix") then
    return {
      pandoc.RawBlock("typst", '#counter(heading).update(0)\n#set heading(numbering: "A.1")'),
      h,
    }
  end
end
