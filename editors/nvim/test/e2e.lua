-- End-to-end driver: `nvim -l e2e.lua SOCKET FILE OUTDIR` talks to a headless
-- Neovim (listening on SOCKET, editing FILE with the plugin loaded) over its
-- RPC API, the way a user's keystrokes arrive: nvim_input. It types into the
-- Go file, waits for unmask's ghost text, checks the extmark against the
-- plugin's suggestion, accepts it with <Tab>, and checks the buffer and the
-- saved file. It writes OUTDIR/request.go + OUTDIR/request.pos (the buffer
-- and cursor the ghost text answered, for `unmask complete`) and
-- OUTDIR/ghost.txt, and prints keystroke-to-ghost-text times.
local sock, file, outdir = arg[1], arg[2], arg[3]
local typed = arg[4] or 'fmt.'
assert(sock and file and outdir, 'usage: nvim -l e2e.lua SOCKET FILE OUTDIR')

local uv = vim.uv or vim.loop

-- say prints a line (print in `nvim -l` may lose the last newline at exit).
local function say(s)
  io.stdout:write(s, '\n')
  io.stdout:flush()
end

local function fail(msg)
  io.stderr:write('editors-nvim: FAIL: ' .. msg .. '\n')
  os.exit(1)
end

local chan
for _ = 1, 200 do
  local ok, c = pcall(vim.fn.sockconnect, 'pipe', sock, { rpc = true })
  if ok and c > 0 then
    chan = c
    break
  end
  vim.wait(50)
end
if not chan then
  fail('cannot connect to ' .. sock)
end

local function rpc(method, ...)
  return vim.rpcrequest(chan, method, ...)
end

local function lua(code, ...)
  return rpc('nvim_exec_lua', code, { ... })
end

-- wait polls f every 2 ms until it returns a truthy value or timeout_ms pass.
local function wait(timeout_ms, f)
  local deadline = uv.hrtime() + timeout_ms * 1e6
  while uv.hrtime() < deadline do
    local v = f()
    if v then
      return v
    end
    vim.wait(2)
  end
  return nil
end

-- The server must attach and finish initializing (the model may take a few
-- seconds to load).
local attached = wait(60000, function()
  return lua([[
    local c = vim.lsp.get_clients({ bufnr = 0, name = 'unmask' })[1]
    return c ~= nil and c.initialized == true
  ]])
end)
if not attached then
  fail('the unmask server did not attach to the buffer within 60 s (see the Neovim log)')
end

local function buffer_lines()
  return lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)')
end

local function cursor()
  return lua('return vim.api.nvim_win_get_cursor(0)')
end

-- ghost returns the text the extmarks show: the inline virtual text, then
-- each virtual line.
local function ghost()
  return lua([[
    local ns = require('unmask.inline').ns
    local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
    if #marks == 0 then return vim.NIL end
    local d = marks[1][4]
    local parts = {}
    for _, chunk in ipairs(d.virt_text or {}) do parts[#parts + 1] = chunk[1] end
    local text = table.concat(parts)
    for _, l in ipairs(d.virt_lines or {}) do
      local lp = {}
      for _, chunk in ipairs(l) do lp[#lp + 1] = chunk[1] end
      text = text .. '\n' .. table.concat(lp)
    end
    return { row = marks[1][2], col = marks[1][3], text = text }
  ]])
end

local function write(path, s)
  local f = assert(io.open(path, 'w'))
  f:write(s)
  f:close()
end

-- type_and_wait types keys and returns the ghost text that appears and the
-- milliseconds from the last keystroke to it.
local function type_and_wait(keys, timeout_ms)
  local t0 = uv.hrtime()
  rpc('nvim_input', keys)
  local g = wait(timeout_ms, function()
    local g = ghost()
    return g ~= vim.NIL and g or nil
  end)
  return g, g and (uv.hrtime() - t0) / 1e6
end

-- The line of the loop body in main.go: two tabs of indent, nothing else.
local lines = buffer_lines()
local target
for i, l in ipairs(lines) do
  if l:match('^%s*for _, n := range names') then
    target = i + 1
  end
end
if not target or lines[target] ~= '\t\t' then
  fail('fixture: the line after the for loop header is not two tabs')
end
rpc('nvim_win_set_cursor', 0, { target, 0 })
rpc('nvim_input', 'A') -- insert at the end of the line
if not wait(2000, function() return rpc('nvim_get_mode').mode == 'i' end) then
  fail('could not enter insert mode')
end

local g, ms = type_and_wait((typed:gsub('<', '<lt>')), 30000)
if not g then
  fail(('no ghost text within 30 s after typing %q (server log: :LspLog)'):format(typed))
end
local cur = cursor()
local row, col = cur[1] - 1, cur[2]
if g.row ~= row or g.col ~= col then
  fail(('ghost text at %d:%d, cursor at %d:%d'):format(g.row, g.col, row, col))
end
local text = lua("return require('unmask').text()")
-- Neovim stores virtual text printable (a control character other than a
-- tab becomes ^X), so compare with the plugin's text made printable the same
-- way.
local printable = (text or ''):gsub('[%z\1-\8\11-\31\127]', function(c)
  return '^' .. string.char((c:byte() + 64) % 128)
end)
if printable ~= g.text then
  fail(('extmark shows %q, the plugin holds %q'):format(g.text, text))
end
g.text = text -- from here on, the text that accepting inserts
say(('editors-nvim: ghost text after %q: %q (%.0f ms after the keystroke)'):format(typed, g.text, ms))
if os.getenv('UNMASK_CAPTURE') then
  vim.wait(100) -- let the screen redraw
  vim.fn.system(os.getenv('UNMASK_CAPTURE'))
end

-- What the ghost text answered: the buffer and cursor at that moment.
local before = buffer_lines()
write(outdir .. '/request.go', table.concat(before, '\n') .. '\n')
local line = before[row + 1]
write(outdir .. '/request.pos', ('%d:%d\n'):format(row + 1, vim.fn.strchars(line:sub(1, col)) + 1))
write(outdir .. '/ghost.txt', g.text)

-- Accept with <Tab>: the buffer must hold exactly the suggestion at the cursor.
rpc('nvim_input', '<Tab>')
local expect = vim.split(line:sub(1, col) .. g.text .. line:sub(col + 1), '\n', { plain = true })
local want = {}
for i = 1, row do want[#want + 1] = before[i] end
for _, l in ipairs(expect) do want[#want + 1] = l end
for i = row + 2, #before do want[#want + 1] = before[i] end
local got = wait(5000, function()
  local b = buffer_lines()
  return vim.deep_equal(b, want) and b or nil
end)
if not got then
  fail(('after <Tab> the buffer is\n%s\nwant\n%s'):format(table.concat(buffer_lines(), '\n'), table.concat(want, '\n')))
end
if ghost() ~= vim.NIL and lua("return require('unmask').text()") == g.text then
  fail('the ghost text is still shown after accepting')
end

-- Save and check the file on disk.
rpc('nvim_input', '<Esc>')
wait(2000, function() return rpc('nvim_get_mode').mode == 'n' end)
rpc('nvim_command', 'write')
local f = assert(io.open(file))
local disk = f:read('*a')
f:close()
if disk ~= table.concat(want, '\n') .. '\n' then
  fail('the saved file differs from the buffer:\n' .. disk)
end
say('editors-nvim: accepted with <Tab>; buffer and saved file hold the suggestion')

-- Keystroke-to-ghost-text times: open a fresh line below and type a
-- character at a time; each keystroke is timed until ghost text is shown
-- again (the plugin drops stale ghost text on every edit that does not type
-- along it, so a shown extmark answers this keystroke or continues it).
local times = { ms }
rpc('nvim_input', 'o')
wait(2000, function() return rpc('nvim_get_mode').mode == 'i' end)
lua([[
  local r = vim.api.nvim_win_get_cursor(0)[1]
  vim.api.nvim_buf_set_lines(0, r - 1, r, false, { '\t\t' })
  vim.api.nvim_win_set_cursor(0, { r, 2 })
]])
for _, k in ipairs({ 'i', 'f', ' ', 'n', ' ' }) do
  lua("require('unmask').dismiss()")
  local g2, ms2 = type_and_wait(k, 10000)
  if g2 then
    times[#times + 1] = ms2
  end
end
table.sort(times)
local parts = {}
for _, t in ipairs(times) do parts[#parts + 1] = ('%.0f'):format(t) end
say(('editors-nvim: keystroke -> ghost text, ms (sorted, n=%d): %s; median %.0f'):format(
  #times, table.concat(parts, ' '), times[math.floor((#times + 1) / 2)]))
-- Accept a word (<M-w>), then dismiss (<C-]>). <M-]> asks the server
-- (triggerKind Invoked) if nothing is shown.
local g3 = ghost()
if g3 == vim.NIL then
  rpc('nvim_input', '<M-]>')
  g3 = wait(10000, function()
    local g = ghost()
    return g ~= vim.NIL and g or nil
  end)
end
if not g3 then
  fail('no ghost text for the partial accept')
end
local c3 = cursor()
local line3 = buffer_lines()[c3[1]]
local word = lua("return require('unmask.inline').next_word(...)", g3.text)
rpc('nvim_input', '<M-w>')
local want3 = line3:sub(1, c3[2]) .. word
if not word:find('\n') then
  local got3 = wait(5000, function()
    local l = buffer_lines()[c3[1]]
    return l:sub(1, #want3) == want3 and l or nil
  end)
  if not got3 then
    fail(('after <M-w> the line is %q, want it to start with %q'):format(buffer_lines()[c3[1]], want3))
  end
  say(('editors-nvim: <M-w> accepted the word %q'):format(word))
end
if #word < #g3.text then
  local rest = wait(2000, function()
    local g = ghost()
    return g ~= vim.NIL and g or nil
  end)
  if not rest then
    fail('the rest of the suggestion is gone after accepting a word')
  end
end
lua("require('unmask.config').options.auto_trigger = false") -- nothing new may appear now
rpc('nvim_input', '<C-]>')
if not wait(2000, function() return ghost() == vim.NIL end) then
  fail('<C-]> did not dismiss the ghost text')
end
say('editors-nvim: <C-]> dismissed the ghost text')

-- <M-]> with nothing shown asks the server (triggerKind Invoked), which
-- offers alternatives; <M-]> again shows the next one.
local function shown()
  local r = lua("local i, n = require('unmask.inline').shown(); return i and { i, n } or false")
  return r ~= false and r or nil
end
-- (A typing request's answer, one candidate, may still land first; <M-]>
-- on it asks the server too.)
rpc('nvim_input', '<M-]>')
local first = wait(10000, function()
  local s = shown()
  return s and s[2] >= 2 and s or nil
end)
if not first then
  local s = shown()
  fail(('<M-]> asked the server for alternatives and shows %s, want one of several candidates'):format(
    s and ('%d of %d'):format(s[1], s[2]) or 'nothing'))
end
local g4 = ghost()
rpc('nvim_input', '<M-]>')
local second = wait(5000, function()
  local s = shown()
  return s and s[1] ~= first[1] and s or nil
end)
if not second or ghost() == vim.NIL or ghost().text == g4.text then
  fail(('<M-]> did not show another candidate (first %d of %d: %q)'):format(first[1], first[2], g4.text))
end
say(('editors-nvim: <M-]> cycled from candidate %d of %d (%q) to %d (%q)'):format(
  first[1], first[2], g4.text, second[1], ghost().text))
rpc('nvim_input', '<C-]>')
if not wait(2000, function() return ghost() == vim.NIL end) then
  fail('<C-]> did not dismiss the ghost text after cycling')
end

-- :checkhealth unmask reports no errors.
rpc('nvim_input', '<Esc>')
local health = lua([[
  vim.cmd('checkhealth unmask')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  return text
]])
if health:find('ERROR') or not health:find('OK server offers inline completion')
    or not health:find('model: embedded') then
  fail(':checkhealth unmask:\n' .. health)
end
say('editors-nvim: :checkhealth unmask: no errors')

local st = lua("local s = require('unmask').status(); return s.plugin")
say(('editors-nvim: plugin counters: requests %d, shown %d, accepted %d'):format(st.requests, st.shown, st.accepted))
-- Each acceptance ran the item's unmask.accepted command: the server
-- counted as many.
local server = lua("local s = require('unmask').status(); return s.server or {}")
if (server.accepted or 0) ~= st.accepted then
  fail(('the server counted %s acceptances, the plugin %d'):format(tostring(server.accepted), st.accepted))
end
say(('editors-nvim: the server counted %d acceptances'):format(server.accepted))
vim.rpcnotify(chan, 'nvim_command', 'qa!')
os.exit(0)
