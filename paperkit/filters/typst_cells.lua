-- Table cells as written, in typst output (both engines run this filter: the self-render
-- in its typst writer, Quarto as the project's `_paperkit/typst_cells.lua`).
--
-- Pandoc's typst writer escapes markup that opens a paragraph ("\= .512") but not the
-- same text opening a table cell, which it writes as `[= .512]`: typst then reads a
-- heading ("= "), a list item ("- ", "+ ", "1. ") or a term ("/ ") inside the cell, and
-- a value such as the p-value "= .512" becomes a numbered heading ("B .512"). The
-- cell's first word is escaped here.

if not FORMAT:match("typst") then
  return {}
end

local function is_marker(text)
  return text == "=" or text == "-" or text == "+" or text == "/" or text:match("^%d+%.$") ~= nil
end

local function escape_block(block)
  if block.t ~= "Plain" and block.t ~= "Para" then
    return block
  end
  local first, second = block.content[1], block.content[2]
  if first and first.t == "Str" and is_marker(first.text)
      and (second == nil or second.t == "Space" or second.t == "SoftBreak") then
    block.content[1] = pandoc.RawInline("typst", (first.text:gsub("([=%-%+/%.])", "\\%1")))
  end
  return block
end

local function escape_cells(rows)
  for _, row in ipairs(rows) do
    for _, cell in ipairs(row.cells) do
      if #cell.contents > 0 then
        cell.contents[1] = escape_block(cell.contents[1])
      end
    end
  end
end

function Table(tbl)
  escape_cells(tbl.head.rows)
  for _, body in ipairs(tbl.bodies) do
    escape_cells(body.head)
    escape_cells(body.body)
  end
  escape_cells(tbl.foot.rows)
  return tbl
end
