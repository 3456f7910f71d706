-- Commands of the unmask plugin. Nothing starts until
-- require('unmask').setup() is called (see :help unmask-setup).
if vim.g.loaded_unmask then
  return
end
vim.g.loaded_unmask = true

if vim.fn.has('nvim-0.10') == 0 then
  vim.notify_once('unmask: Neovim 0.10 or later is required', vim.log.levels.WARN)
  return
end

local subcommands = {
  enable = function() require('unmask').enable() end,
  disable = function() require('unmask').disable() end,
  toggle = function() require('unmask').toggle() end,
  restart = function() require('unmask').restart() end,
  status = function() print(vim.inspect(require('unmask').status())) end,
  log = function() vim.cmd('LspLog') end,
}

vim.api.nvim_create_user_command('Unmask', function(args)
  local f = subcommands[args.fargs[1] or 'status']
  if not f then
    vim.notify('unmask: unknown subcommand ' .. args.fargs[1], vim.log.levels.ERROR)
    return
  end
  f()
end, {
  nargs = '?',
  desc = 'unmask: enable | disable | toggle | restart | status | log',
  complete = function(lead)
    return vim.tbl_filter(function(s)
      return s:sub(1, #lead) == lead
    end, vim.tbl_keys(subcommands))
  end,
})
