-- unmask for Neovim: starts `unmask serve` for the configured filetypes and
-- shows its inline completions as ghost text. See :help unmask.
local config = require('unmask.config')
local inline = require('unmask.inline')
local util = require('unmask.util')

local api = vim.api

local M = {}

local group = api.nvim_create_augroup('unmask', { clear = true })
local enabled = false

-- builtin reports whether Neovim's own inline completion (0.12+) draws the
-- ghost text.
function M.builtin()
  local b = config.options.builtin
  if b == false then
    return false
  end
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = { dynamicRegistration = false }
  return caps
end

local function root_dir(bufnr)
  local name = api.nvim_buf_get_name(bufnr)
  local path = name ~= '' and vim.fs.dirname(name) or vim.fn.getcwd()
  local found = vim.fs.find(config.options.root_markers, { upward = true, path = path })[1]
  return found and vim.fs.dirname(found) or path
end

-- start starts (or reuses) the server for bufnr and attaches it.
function M.start(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local settings = config.options.settings
  return vim.lsp.start({
    name = 'unmask',
    cmd = config.options.cmd,
    root_dir = root_dir(bufnr),
    capabilities = capabilities(),
    init_options = settings,
    settings = { unmask = settings },
    on_attach = function(client, b)
      if M.builtin() then
        vim.lsp.inline_completion.enable(true, { bufnr = b, client_id = client.id })
      end
    end,
  }, { bufnr = bufnr })
end

-- stop stops the server; the next FileType event starts it again.
function M.stop()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  for _, c in ipairs(get({ name = 'unmask' })) do
    if vim.fn.has('nvim-0.11') == 1 then
      c:stop()
    else
      c.stop()
    end
  end
  inline.on_leave()
end

function M.restart()
  M.stop()
  vim.defer_fn(function()
    for _, b in ipairs(api.nvim_list_bufs()) do
      if api.nvim_buf_is_loaded(b) and vim.tbl_contains(config.options.filetypes, vim.bo[b].filetype) then
        M.start(b)
      end
    end
  end, 200)
end

-- accept, accept_word, accept_line, next, prev and dismiss act on the shown
-- suggestion; each reports whether there was one.
function M.accept()
  if M.builtin() then
    return vim.lsp.inline_completion.get() or false
  end
  return inline.accept()
end

local function builtin_partial(part)
  -- Neovim 0.12's get() hands the item to on_accept instead of inserting it.
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local text = item.insert_text
      if type(text) == 'table' then
        text = text.value
      end
      if type(text) ~= 'string' then
        return
      end
      local row, col = unpack(api.nvim_win_get_cursor(0))
      local line = api.nvim_get_current_line()
      -- The item's text may start before the cursor: skip what is typed.
      local typed = ''
      if item.range and item.range.start then
        local srow, scol = item.range.start.row or item.range.start[1], item.range.start.col or item.range.start[2]
        if srow == row - 1 and scol and scol <= col then
          typed = line:sub(scol + 1, col)
        end
      end
      if text:sub(1, #typed) == typed then
        text = text:sub(#typed + 1)
      end
      local piece = part(text)
      local lines = vim.split(piece, '\n', { plain = true })
      api.nvim_buf_set_text(0, row - 1, col, row - 1, col, lines)
      api.nvim_win_set_cursor(0, { row + #lines - 1, (#lines == 1 and col or 0) + #lines[#lines] })
    end,
  }) or false
end

function M.accept_word()
  if M.builtin() then
    return builtin_partial(inline.next_word)
  end
  return inline.accept_word()
end

function M.accept_line()
  if M.builtin() then
    return builtin_partial(inline.next_line)
  end
  return inline.accept_line()
end

function M.next()
  if M.builtin() then
    local ic = vim.lsp.inline_completion
    local f = ic.select or ic.jump
    if f then
      f({ count = 1 })
    end
    return true
  end
  return inline.cycle(1)
end

function M.prev()
  if M.builtin() then
    local ic = vim.lsp.inline_completion
    local f = ic.select or ic.jump
    if f then
      f({ count = -1 })
    end
    return true
  end
  return inline.cycle(-1)
end

function M.dismiss()
  if M.builtin() then
    -- No dismiss in the built-in API: re-enabling clears the shown item.
    local b = api.nvim_get_current_buf()
    vim.lsp.inline_completion.enable(false, { bufnr = b })
    vim.lsp.inline_completion.enable(true, { bufnr = b })
    return true
  end
  local had = inline.text() ~= nil
  inline.dismiss()
  return had
end

-- text returns the ghost text the plugin shows, or nil (for tests and
-- statuslines; nil with the built-in renderer).
function M.text()
  return inline.text()
end

local function feed(key)
  api.nvim_feedkeys(api.nvim_replace_termcodes(key, true, false, true), 'n', false)
end

local function map_keys(bufnr)
  local km = config.options.keymaps
  local actions = {
    accept = M.accept, accept_word = M.accept_word, accept_line = M.accept_line,
    next = M.next, prev = M.prev, dismiss = M.dismiss,
  }
  for name, fn in pairs(actions) do
    local key = km[name]
    if key then
      vim.keymap.set('i', key, function()
        if not fn() and name ~= 'next' and name ~= 'prev' then
          feed(key) -- nothing shown: the key keeps its usual meaning
        end
      end, { buffer = bufnr, silent = true, desc = 'unmask: ' .. name })
    end
  end
end

local function attach(bufnr)
  if not enabled or not vim.tbl_contains(config.options.filetypes, vim.bo[bufnr].filetype) then
    return
  end
  if not M.start(bufnr) then
    return
  end
  map_keys(bufnr)
  if M.builtin() then
    return
  end
  api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
    group = group, buffer = bufnr, callback = inline.on_change,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group, buffer = bufnr, callback = inline.on_leave,
  })
end

-- enable starts the server for open and future buffers of the filetypes.
function M.enable()
  enabled = true
  api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.options.filetypes,
    callback = function(ev)
      attach(ev.buf)
    end,
  })
  for _, b in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(b) then
      attach(b)
    end
  end
end

-- disable stops asking for suggestions and stops the server.
function M.disable()
  enabled = false
  api.nvim_clear_autocmds({ group = group })
  M.stop()
end

function M.toggle()
  if enabled then
    M.disable()
  else
    M.enable()
  end
  vim.notify('unmask: ' .. (enabled and 'enabled' or 'disabled'))
end

function M.is_enabled()
  return enabled
end

-- status returns the plugin's counters and, when the server answers the
-- unmask/status request, the server's.
function M.status(timeout_ms, bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  local out = { enabled = enabled, builtin = M.builtin(), plugin = vim.deepcopy(inline.stats) }
  local client = util.client(bufnr)
  if client then
    local resp
    if vim.fn.has('nvim-0.11') == 1 then
      resp = client:request_sync('unmask/status', {}, timeout_ms or 1000, bufnr)
    else
      resp = client.request_sync('unmask/status', {}, timeout_ms or 1000, bufnr)
    end
    if resp and resp.result then
      out.server = resp.result
    elseif resp and resp.err then
      out.server_error = resp.err.message
    end
  end
  return out
end

-- setup sets the options and enables the plugin.
function M.setup(opts)
  config.set(opts)
  -- Grey and italic, like copilot.vim's suggestion colour: many
  -- colorschemes leave Comment uncoloured in 256-colour terminals.
  api.nvim_set_hl(0, config.options.hl_group, { fg = '#808080', ctermfg = 244, italic = true, default = true })
  if enabled then
    api.nvim_clear_autocmds({ group = group })
  end
  M.enable()
end

return M
