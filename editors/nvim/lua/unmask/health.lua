-- :checkhealth unmask
local M = {}

function M.check()
  local h = vim.health
  local config = require('unmask.config')
  local util = require('unmask.util')
  local unmask = require('unmask')

  h.start('unmask: Neovim')
  local v = vim.version()
  local ver = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.10') == 1 then
    h.ok('Neovim ' .. ver)
  else
    h.error('Neovim ' .. ver .. ': unmask needs 0.10 or later (inline virtual text, vim.lsp.start)')
  end
  if unmask.builtin() then
    h.ok('ghost text: Neovim\'s vim.lsp.inline_completion')
  else
    h.ok('ghost text: the plugin\'s extmarks (debounce ' .. config.options.debounce .. ' ms)')
  end

  h.start('unmask: server')
  local cmd = config.options.cmd
  local exe = cmd[1]
  if vim.fn.executable(exe) == 1 then
    h.ok(('`%s` found: %s'):format(exe, vim.fn.exepath(exe)))
    -- `unmask version` names the build, the CPU kernel and the model (with
    -- the --model the server is started with): what a bug report needs.
    local vcmd = { exe, 'version' }
    for i, a in ipairs(cmd) do
      if (a == '--model' or a == '-model') and cmd[i + 1] then
        vim.list_extend(vcmd, { '--model', cmd[i + 1] })
      end
    end
    local out = vim.fn.system(vcmd)
    if vim.v.shell_error == 0 and out:match('^unmask ') then
      for _, line in ipairs(vim.split(vim.trim(out), '\n')) do
        h.info(line)
      end
    else
      -- An unmask from before `version`, or another program.
      out = vim.fn.system({ exe, 'help' })
      if vim.v.shell_error ~= 0 and not out:match('serve') then
        h.warn(('`%s help` failed: %s'):format(exe, vim.trim(out)))
      elseif not out:match('serve') then
        h.warn(('`%s help` does not list `serve`: is this unmask?'):format(exe))
      end
    end
  else
    h.error(('`%s` not found'):format(exe), {
      'Install it: go install github.com/unmask/unmask/cmd/unmask@latest',
      'or set cmd = { "/path/to/unmask", "serve" } in require("unmask").setup{}',
    })
  end

  -- :checkhealth opens its own buffer: look at the one it was called from.
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].filetype == 'checkhealth' and vim.fn.bufnr('#') > 0 then
    bufnr = vim.fn.bufnr('#')
  end
  h.start('unmask: buffer ' .. vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.'))
  local ft = vim.bo[bufnr].filetype
  if not unmask.is_enabled() then
    h.warn('not enabled: call require("unmask").setup() in your init.lua')
  elseif not vim.tbl_contains(config.options.filetypes, ft) then
    h.info(('filetype %q is not in filetypes (%s)'):format(ft, table.concat(config.options.filetypes, ', ')))
  end
  local client = util.client(bufnr)
  if client then
    h.ok(('server running (client id %d, position encoding %s)'):format(client.id, client.offset_encoding or '?'))
    local caps = client.server_capabilities or {}
    if caps.inlineCompletionProvider then
      h.ok('server offers inline completion')
    else
      h.error('server does not offer textDocument/inlineCompletion')
    end
    local st = unmask.status(1000, bufnr)
    if st.server then
      h.info('server status: ' .. vim.inspect(st.server, { newline = ' ', indent = '' }))
      -- The server completes only the languages its model was trained on
      -- unless settings.languages lists others (languageId = filetype).
      local langs = st.server.languages
      if type(langs) == 'table' and #langs > 0 and not vim.tbl_contains(langs, ft) then
        h.warn(('the server does not complete %s: it completes %s (its model\'s languages, or settings.languages where set); add %q to settings.languages to complete it anyway')
          :format(ft, table.concat(langs, ', '), ft))
      end
    end
  elseif unmask.is_enabled() and vim.tbl_contains(config.options.filetypes, ft) then
    h.warn('no unmask client attached to this buffer (see :LspLog)')
  end

  h.start('unmask: keymaps')
  for name, key in pairs(config.options.keymaps) do
    if key then
      local m = vim.api.nvim_buf_call(bufnr, function()
        return vim.fn.maparg(key, 'i', false, true)
      end)
      if m and m.desc and m.desc:match('^unmask') then
        h.ok(('%s: %s'):format(name, key))
      elseif m and m.lhs then
        h.warn(('%s: %s is mapped by something else (%s)'):format(name, key, m.rhs or m.desc or 'lua'))
      else
        h.info(('%s: %s (mapped in buffers of the filetypes)'):format(name, key))
      end
    end
  end
end

return M
