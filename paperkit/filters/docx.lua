--[[
DOCX writer filter of the self-render (paperkit/render.py).

Quarto's DOCX output puts the reference list at the end without a heading when the article
has no `::: {#refs}`; render.py adds the heading the HTML shows, marked render-default-refs.
--]]

function Header(h)
  if h.classes:includes("render-default-refs") then
    return {}
  end
end

-- Quarto's DOCX title block shows the authors' names only: no affiliations, contacts or
-- keywords, which render.py writes as notes under the title for the HTML.
function Div(div)
  if div.classes:includes("title-notes") then
    return {}
  end
end
