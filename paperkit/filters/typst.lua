--[[
Typst writer filter of the self-render (paperkit/render.py), applied to the typst
writer only, after crossref.lua numbered the document.

A labelled display equation (a span of class render-equation, see crossref.lua) becomes
a typst equation carrying its label and the number crossref.lua gave it, as Quarto's
typst output numbers it: `$ x $ <eq-a>` under a numbering that prints that number.
--]]

function Span(span)
  if span.classes:includes("render-not-typst") then
    return {} -- text the other writers show instead of a typst-only variant (crossref.lua)
  end
  if not span.classes:includes("render-equation") then
    return nil
  end
  local math = pandoc.Math("DisplayMath", span.attributes["tex"])
  local typst = pandoc.write(pandoc.Pandoc({ pandoc.Plain({ math }) }), "typst")
  typst = typst:gsub("%s+$", "")
  return pandoc.RawInline("typst", "#[#set math.equation(numbering: (..n) => \"("
    .. span.attributes["number"] .. ")\")\n" .. typst .. " <" .. span.identifier .. ">]")
end

-- Quarto's typst output (citeproc) has no heading over a reference list placed by default
-- (render.py marks the one it adds for the HTML render-default-refs).
function Header(h)
  if h.classes:includes("render-default-refs") then
    return {}
  end
end
