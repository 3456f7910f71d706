-- The plugin's options: defaults, and the merged table that setup() keeps.
local M = {}

M.defaults = {
  -- The server command. `unmask` must be on PATH, or give the full path.
  cmd = { 'unmask', 'serve' },
  -- Filetypes that start the server.
  filetypes = { 'go', 'python', 'javascript', 'typescript', 'javascriptreact', 'typescriptreact',
    'rust', 'c', 'cpp', 'java', 'lua', 'sh' },
  -- Files or folders that mark the project root (the server's rootUri).
  root_markers = { '.git', 'go.mod', 'package.json', 'Cargo.toml', 'pyproject.toml' },
  -- Server configuration, sent as initializationOptions and answered on
  -- workspace/configuration under the section "unmask" (see :help unmask-settings).
  settings = {},
  -- Ask for ghost text as you type; false = only on the `next` key.
  auto_trigger = true,
  -- Milliseconds of quiet after a keystroke before asking the server.
  debounce = 75,
  -- Use Neovim's own vim.lsp.inline_completion (0.12+) when it exists:
  -- "auto" (default), true, or false (always the plugin's renderer).
  builtin = 'auto',
  -- Insert-mode keys; false disables one. With no suggestion shown, the key
  -- does what it did before (so <Tab> still indents).
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-w>',
    accept_line = '<M-l>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
  -- Highlight group of the ghost text (grey italic unless defined).
  hl_group = 'UnmaskSuggestion',
}

M.options = vim.deepcopy(M.defaults)

-- set merges user options over the defaults and validates them.
function M.set(opts)
  opts = opts or {}
  vim.validate({
    cmd = { opts.cmd, 'table', true },
    filetypes = { opts.filetypes, 'table', true },
    settings = { opts.settings, 'table', true },
    debounce = { opts.debounce, 'number', true },
    keymaps = { opts.keymaps, 'table', true },
  })
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists replace, they don't merge index by index.
  if opts.filetypes then M.options.filetypes = opts.filetypes end
  if opts.cmd then M.options.cmd = opts.cmd end
  if opts.root_markers then M.options.root_markers = opts.root_markers end
  return M.options
end

return M
