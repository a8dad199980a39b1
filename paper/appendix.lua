-- Quarto filter of this paper (the self-render does the same in paperkit/filters/crossref.lua):
-- in the PDF the `{.appendix}` section and its subsections are lettered, "A", "A.1", ...
function Header(h)
  if quarto.doc.is_format("typst") and h.classes:includes("appendix") then
    return {
      pandoc.RawBlock("typst", '#counter(heading).update(0)\n#set heading(numbering: "A.1")'),
      h,
    }
  end
end
