-- Unit tests of the plugin's pure helpers: `nvim -l editors/nvim/test/unit.lua`
-- from the repository root (scripts/e2e/editors-nvim.sh runs it).
vim.opt.runtimepath:prepend('editors/nvim')
local util = require('unmask.util')
local inline = require('unmask.inline')

local failed = 0
local function check(name, got, want)
  if got ~= want then
    failed = failed + 1
    io.stderr:write(('FAIL %s = %q, want %q\n'):format(name, tostring(got), tostring(want)))
  end
end

-- 'é' is 2 bytes, 1 UTF-16 unit; '😀' is 4 bytes, 2 UTF-16 units, 1 UTF-32 unit.
local line = 'aé😀b'
for _, c in ipairs({
  { 'utf-16', 0, 0 }, { 'utf-16', 1, 1 }, { 'utf-16', 2, 3 }, { 'utf-16', 4, 7 }, { 'utf-16', 5, 8 },
  { 'utf-16', 99, 8 }, -- past the end of the line clamps to its end
  { 'utf-32', 3, 7 }, { 'utf-32', 4, 8 },
  { 'utf-8', 3, 3 }, { 'utf-8', 99, 8 },
}) do
  check(('byte_col(%q, %d, %s)'):format(line, c[2], c[1]), util.byte_col(line, c[2], c[1]), c[3])
end
for _, c in ipairs({
  { 'utf-16', 0, 0 }, { 'utf-16', 3, 2 }, { 'utf-16', 7, 4 }, { 'utf-16', 8, 5 },
  { 'utf-32', 7, 3 }, { 'utf-8', 7, 7 },
}) do
  check(('char_col(%q, %d, %s)'):format(line, c[2], c[1]), util.char_col(line, c[2], c[1]), c[3])
end

for _, c in ipairs({
  { 'Println(greet(n))', 'Println' },
  { '(greet(n))', '(' },
  { ' := range names {', ' :=' },
  { '  x', '  x' },
  { '\n\treturn nil', '\n\t' },
  { '', '' },
}) do
  check(('next_word(%q)'):format(c[1]), inline.next_word(c[1]), c[2])
end
for _, c in ipairs({
  { 'a := 1\nb := 2', 'a := 1' },
  { '\n\treturn nil\n}', '\n\treturn nil' },
  { 'x', 'x' },
}) do
  check(('next_line(%q)'):format(c[1]), inline.next_line(c[1]), c[2])
end

if failed > 0 then
  os.exit(1)
end
print('editors-nvim: unit tests passed')
