-- Ghost text from textDocument/inlineCompletion (LSP 3.18), drawn with
-- extmarks, for Neovim versions without vim.lsp.inline_completion (0.10,
-- 0.11). One suggestion is shown at a time, in the current buffer only.
local config = require('unmask.config')
local util = require('unmask.util')

local api = vim.api
local uv = vim.uv or vim.loop

local M = {}

M.ns = api.nvim_create_namespace('unmask')

-- A suggestion is what is shown: `text` is what accepting inserts at
-- (row, col), `del` the bytes after the cursor on that line it replaces
-- (a closer the server chose to overwrite), `items`/`index` the candidates.
---@class unmask.Suggestion
---@field bufnr integer
---@field row integer 0-based
---@field col integer 0-based byte column where `text` starts (the cursor)
---@field text string
---@field del integer
---@field items table[] raw InlineCompletionItems
---@field index integer
---@field client_id integer
---@field extmark integer?

---@type unmask.Suggestion?
local current = nil
-- The request in flight: {client, id, tick}.
local inflight = nil
local timer = nil
-- hrtime of the keystroke that the next suggestion answers, for latency.
local typed_at = nil

-- stats are the plugin's own counters; :Unmask status prints them.
M.stats = { requests = 0, shown = 0, accepted = 0, last_latency_ms = nil }

local function stop_timer()
  if timer then
    timer:stop()
  end
end

local function cancel_inflight()
  if inflight then
    pcall(util.cancel, inflight.client, inflight.id)
    inflight = nil
  end
end

local function clear_extmark()
  if current and current.extmark and api.nvim_buf_is_valid(current.bufnr) then
    pcall(api.nvim_buf_del_extmark, current.bufnr, M.ns, current.extmark)
  end
end

-- dismiss hides the suggestion and forgets it.
function M.dismiss()
  clear_extmark()
  current = nil
end

-- render draws current.text at the cursor: its first line inline, the rest as
-- virtual lines below.
local function render()
  clear_extmark()
  if not current or current.text == '' then
    return
  end
  local lines = vim.split(current.text, '\n', { plain = true })
  local hl = config.options.hl_group
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { lines[i], hl } }
  end
  local opts = {
    virt_text = { { lines[1], hl } },
    virt_text_pos = 'inline',
    hl_mode = 'combine',
    priority = 1000,
  }
  if #virt_lines > 0 then
    opts.virt_lines = virt_lines
  end
  current.extmark = api.nvim_buf_set_extmark(current.bufnr, M.ns, current.row, current.col, opts)
end

-- text returns what the shown suggestion would insert, or nil.
function M.text()
  if current and current.extmark then
    return current.text
  end
  return nil
end

-- suggestion builds a Suggestion from a raw item for the cursor at (row, col),
-- or nil when the item does not continue what is in the buffer.
local function suggestion(bufnr, client, item, row, col)
  local insert = item.insertText
  if type(insert) == 'table' then
    -- A snippet: show and insert its text without the placeholders' syntax.
    insert = (insert.value or ''):gsub('%$%{%d+:?([^}]*)%}', '%1'):gsub('%$%d+', '')
  end
  if type(insert) ~= 'string' or insert == '' then
    return nil
  end
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local enc = client.offset_encoding or 'utf-16'
  local del = 0
  if item.range then
    local s, e = item.range.start, item.range['end']
    if s.line ~= row or s.line > e.line then
      return nil
    end
    local scol = util.byte_col(line, s.character, enc)
    if scol > col then
      return nil
    end
    -- The range may start before the cursor (the server repeats what is
    -- typed); show only the rest.
    local typed = line:sub(scol + 1, col)
    if insert:sub(1, #typed) ~= typed then
      return nil
    end
    insert = insert:sub(#typed + 1)
    if e.line == row then
      del = math.max(0, util.byte_col(line, e.character, enc) - col)
    end
  end
  if insert == '' then
    return nil
  end
  return { bufnr = bufnr, row = row, col = col, text = insert, del = del, client_id = client.id }
end

local function on_result(client, bufnr, tick, row, col, err, result, index)
  if err or not result then
    return
  end
  if not api.nvim_buf_is_valid(bufnr) or api.nvim_get_current_buf() ~= bufnr then
    return
  end
  local cur = api.nvim_win_get_cursor(0)
  if api.nvim_buf_get_changedtick(bufnr) ~= tick or cur[1] - 1 ~= row or cur[2] ~= col then
    return -- stale: the buffer or cursor moved on
  end
  if not api.nvim_get_mode().mode:match('^i') then
    return
  end
  local items = result.items or result
  if type(items) ~= 'table' or #items == 0 then
    M.dismiss()
    return
  end
  index = index or 1
  for k = 0, #items - 1 do
    local i = (index - 1 + k) % #items + 1
    local s = suggestion(bufnr, client, items[i], row, col)
    if s then
      s.items, s.index = items, i
      M.dismiss()
      current = s
      render()
      M.stats.shown = M.stats.shown + 1
      if typed_at then
        M.stats.last_latency_ms = (uv.hrtime() - typed_at) / 1e6
        typed_at = nil
      end
      return
    end
  end
  M.dismiss()
end

-- request asks the server for inline completions at the cursor.
-- trigger_kind: 1 = invoked (a key), 2 = automatic (typing).
function M.request(trigger_kind, index)
  local bufnr = api.nvim_get_current_buf()
  local client = util.client(bufnr)
  if not client then
    return
  end
  if trigger_kind == 1 then
    stop_timer() -- asked for: a typing request still waiting must not replace it
  end
  cancel_inflight()
  local cur = api.nvim_win_get_cursor(0)
  local row, col = cur[1] - 1, cur[2]
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local enc = client.offset_encoding or 'utf-16'
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = row, character = util.char_col(line, col, enc) },
    context = { triggerKind = trigger_kind or 2 },
  }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local id
  id = util.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if inflight and inflight.id == id then
      inflight = nil
    end
    on_result(client, bufnr, tick, row, col, err, result, index)
  end, bufnr)
  if id then
    inflight = { client = client, id = id }
    M.stats.requests = M.stats.requests + 1
  end
end

-- on_change runs on every insert-mode edit and cursor move: keep showing the
-- suggestion while the user types along it, else drop it; then ask again
-- after the debounce.
function M.on_change()
  typed_at = uv.hrtime()
  local bufnr = api.nvim_get_current_buf()
  if current then
    local cur = api.nvim_win_get_cursor(0)
    local row, col = cur[1] - 1, cur[2]
    local keep = false
    if current.bufnr == bufnr and row == current.row and col >= current.col then
      local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
      local typed = line:sub(current.col + 1, col)
      if #typed < #current.text and current.text:sub(1, #typed) == typed then
        if #typed > 0 then
          current.text = current.text:sub(#typed + 1)
          current.col = col
          render()
        end
        keep = true
      end
    end
    if not keep then
      M.dismiss()
    end
  end
  if not config.options.auto_trigger then
    return
  end
  if vim.fn.pumvisible() == 1 then
    return
  end
  timer = timer or uv.new_timer()
  stop_timer()
  timer:start(config.options.debounce, 0, vim.schedule_wrap(function()
    if api.nvim_get_mode().mode:match('^i') then
      M.request(2)
    end
  end))
end

function M.on_leave()
  stop_timer()
  cancel_inflight()
  M.dismiss()
end

-- insert puts text at the cursor, replacing del bytes after it, and moves the
-- cursor to the end of what was inserted.
local function insert(s, text, del)
  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(s.bufnr, s.row, s.col, s.row, s.col + del, lines)
  local last_row = s.row + #lines - 1
  local last_col = (#lines == 1 and s.col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { last_row + 1, last_col })
end

-- accept inserts the whole suggestion; it reports whether one was shown.
function M.accept()
  local s = current
  if not s or not s.extmark then
    return false
  end
  M.dismiss()
  insert(s, s.text, s.del)
  M.stats.accepted = M.stats.accepted + 1
  local item = s.items and s.items[s.index]
  local client = vim.lsp.get_client_by_id(s.client_id)
  if item and item.command and client then
    util.request(client, 'workspace/executeCommand', {
      command = item.command.command,
      arguments = item.command.arguments,
    }, function() end, s.bufnr)
  end
  return true
end

-- next_word returns the first word of text with its leading space, or the
-- leading run of punctuation, or a newline with the next line's indent.
function M.next_word(text)
  return text:match('^\n[ \t]*') or text:match('^[ \t]*[%w_]+') or text:match('^[ \t]*[^%w_%s]+')
    or text:match('^%s+') or text
end

-- next_line returns text up to the end of its first line; if text starts with
-- a newline, the newline and the line after it.
function M.next_line(text)
  return text:match('^\n?[^\n]*')
end

local function accept_part(part)
  local s = current
  if not s or not s.extmark then
    return false
  end
  local piece = part(s.text)
  if piece == '' or piece == s.text then
    return M.accept()
  end
  clear_extmark()
  insert(s, piece, 0)
  -- What is left stays shown; on_change sees the typed-along text and keeps it.
  local cur = api.nvim_win_get_cursor(0)
  current = vim.tbl_extend('force', s, { row = cur[1] - 1, col = cur[2], text = s.text:sub(#piece + 1) })
  render()
  return true
end

function M.accept_word()
  return accept_part(M.next_word)
end

function M.accept_line()
  return accept_part(M.next_line)
end

-- shown returns which candidate is shown and how many the server offered
-- (2, 3: the second of three), or nil when nothing is shown.
function M.shown()
  if not current or not current.extmark then
    return nil
  end
  return current.index or 1, current.items and #current.items or 1
end

-- cycle shows the next (+1) or previous (-1) candidate; with none shown it
-- asks the server (triggerKind Invoked).
function M.cycle(step)
  local s = current
  if not s or not s.items or #s.items < 2 then
    M.request(1, s and s.index and s.index + step or 1)
    return true
  end
  local bufnr = s.bufnr
  local client = vim.lsp.get_client_by_id(s.client_id)
  if not client then
    return false
  end
  local n = #s.items
  for k = 1, n - 1 do
    local i = (s.index - 1 + k * step) % n + 1
    local next = suggestion(bufnr, client, s.items[i], s.row, s.col)
    if next then
      next.items, next.index = s.items, i
      M.dismiss()
      current = next
      render()
      return true
    end
  end
  return true
end

return M
