-- Position conversions and small compatibility shims between Neovim 0.10
-- and later (method call syntax, vim.str_byteindex's signature).
local M = {}

-- byte_col converts an LSP character offset on line text to a 0-based byte
-- column. Offsets past the end of the line clamp to its end, as the
-- protocol says.
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local units, i = 0, 1
  while i <= #line and units < character do
    local b = line:byte(i)
    local len = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
    if encoding == 'utf-32' then
      units = units + 1
    else
      units = units + (len == 4 and 2 or 1)
    end
    i = i + len
  end
  return math.min(i - 1, #line)
end

-- char_col converts a 0-based byte column to an LSP character offset.
function M.char_col(line, byte, encoding)
  if encoding == 'utf-8' then
    return byte
  end
  local units, i = 0, 1
  while i <= byte and i <= #line do
    local b = line:byte(i)
    local len = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
    units = units + ((encoding ~= 'utf-32' and len == 4) and 2 or 1)
    i = i + len
  end
  return units
end

-- request sends a request on client and returns its id (nil when the client
-- is gone). Neovim 0.11 made the methods colon calls.
function M.request(client, method, params, handler, bufnr)
  local ok, id
  if vim.fn.has('nvim-0.11') == 1 then
    ok, id = client:request(method, params, handler, bufnr)
  else
    ok, id = client.request(method, params, handler, bufnr)
  end
  return ok and id or nil
end

function M.cancel(client, id)
  if vim.fn.has('nvim-0.11') == 1 then
    client:cancel_request(id)
  else
    client.cancel_request(id)
  end
end

function M.notify(client, method, params)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

-- client returns the running unmask client attached to bufnr, if any.
function M.client(bufnr)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  for _, c in ipairs(get({ bufnr = bufnr, name = 'unmask' })) do
    return c
  end
  return nil
end

return M
