--[[
HTML writer filter of the self-render (paperkit/render.py).

A code cell's HTML output (a pandas DataFrame, say; paperkit/cells.py) is written twice:
raw HTML, which only the HTML writer keeps, and its plain text in a div of class
render-not-html for the other formats. As in Quarto, the HTML shows only the HTML.
--]]

function Div(div)
  if div.classes:includes("render-not-html") then
    return {}
  end
end
