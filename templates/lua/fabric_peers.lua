-- fabric's run-time upstreams (docs/targets.md, "nginx without reloads"): the router pushes every
-- upstream's peers into the shared dict `fabric_peers` over the control socket; the balancer picks
-- from them. Each worker decodes a peer set once per pushed version and keeps it until the next.
local balancer = require("ngx.balancer")

local dict = ngx.shared.fabric_peers
local _M = {}

-- Per worker: upstream name → { version, peers, total, leastconn, source }.
local cache = {}

-- A set as pushed: its first line the balance, then one peer a line: `host port weight drain healthy`.
local function decode(text)
  local peers, total = {}, 0
  local balance = text:match("^(%S+)") or "roundrobin"
  for host, port, weight, drain, healthy in text:gmatch("\n(%S+) (%d+) (%d+) ([01]) ([01])") do
    local w = tonumber(weight)
    if w > 0 and drain == "0" and healthy == "1" then
      peers[#peers + 1] = { host = host, port = tonumber(port), weight = w, current = 0, active = 0, key = host .. " " .. port }
      total = total + w
    end
  end
  return { peers = peers, total = total, balance = balance }
end

local function load(name)
  local version = dict:get("version")
  if version == nil then return nil end
  local entry = cache[name]
  if entry and entry.version == version then return entry end
  entry = decode(dict:get("u:" .. name) or "")
  entry.version = version
  cache[name] = entry
  return entry
end

-- nginx's own smooth weighted round-robin: every peer gains its weight, the highest goes and pays the total.
local function smooth(peers, tried)
  local best, total = nil, 0
  for _, p in ipairs(peers) do
    if not tried[p.key] then
      p.current = p.current + p.weight
      total = total + p.weight
      if best == nil or p.current > best.current then best = p end
    end
  end
  if best then best.current = best.current - total end
  return best
end

-- Fewest requests in flight in this worker, weighted; ties by smooth round-robin order.
local function leastconn(peers, tried)
  local best
  for _, p in ipairs(peers) do
    if not tried[p.key] and (best == nil or p.active * best.weight < best.active * p.weight) then best = p end
  end
  return best
end

-- The client address picks the peer (weighted), as `hash $remote_addr` does; retries go round-robin.
local function source(entry, tried)
  if next(tried) ~= nil then return smooth(entry.peers, tried) end
  local point = ngx.crc32_short(ngx.var.remote_addr or "") % entry.total
  for _, p in ipairs(entry.peers) do
    if point < p.weight then return p end
    point = point - p.weight
  end
  return entry.peers[1]
end

local function pick(entry, tried)
  if entry.balance == "leastconn" then return leastconn(entry.peers, tried) end
  if entry.balance == "source" then return source(entry, tried) end
  return smooth(entry.peers, tried)
end

-- The server that answers 503 (in nginx.conf, on a loopback address): set by init().
local unready_host, unready_port

function _M.init(host, port)
  unready_host, unready_port = host, port
end

-- balancer_by_lua: with no pushed state yet, or no usable peer, the request goes to the server that
-- answers 503 (never an empty or stale set; a balancer cannot answer by itself).
function _M.balance(name)
  local entry = load(name)
  if entry == nil or #entry.peers == 0 then
    local ok, err = balancer.set_current_peer(unready_host, unready_port)
    if not ok then ngx.log(ngx.ERR, "fabric: cannot send to the 503 server: ", err) end
    return
  end
  local ctx = ngx.ctx
  local tried = ctx.fabric_tried
  if tried == nil then
    tried = {}
    ctx.fabric_tried = tried
    ctx.fabric_entry = entry
    -- A refused connection moves on to the next peer (proxy_next_upstream decides which requests may).
    if #entry.peers > 1 then balancer.set_more_tries(math.min(#entry.peers, 3) - 1) end
  elseif ctx.fabric_peer then
    ctx.fabric_peer.active = ctx.fabric_peer.active - 1
  end
  local peer = pick(entry, tried) or smooth(entry.peers, {})
  tried[peer.key] = true
  peer.active = peer.active + 1
  ctx.fabric_peer = peer
  local ok, err = balancer.set_current_peer(peer.host, peer.port)
  if not ok then
    ngx.log(ngx.ERR, "fabric: cannot use peer ", peer.key, ": ", err)
    return ngx.exit(502)
  end
end

-- log_by_lua: the request is done with its peer (least-connections counts).
function _M.done()
  local peer = ngx.ctx.fabric_peer
  if peer then peer.active = peer.active - 1 end
end

local function names()
  local list = {}
  for name in (dict:get("names") or ""):gmatch("%S+") do list[#list + 1] = name end
  return list
end

-- What nginx holds, in the format it was pushed in: the router compares it with what it sent.
local function read_back()
  local version = dict:get("version")
  local parts = { "version " .. (version or "-") }
  for _, name in ipairs(names()) do
    parts[#parts + 1] = "upstream " .. name .. " " .. (dict:get("u:" .. name) or "")
  end
  ngx.header["Content-Type"] = "text/plain"
  ngx.print(table.concat(parts, "\n"), "\n")
end

local function fail(status, message)
  ngx.status = status
  ngx.say(message)
  return ngx.exit(status)
end

local function body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then return data end
  local file = ngx.req.get_body_file()
  if not file then return nil end
  local f = io.open(file, "rb")
  if not f then return nil end
  data = f:read("*a")
  f:close()
  return data
end

-- A full state: `version V`, then per upstream `upstream NAME BALANCE` and its peers a line,
-- `HOST PORT WEIGHT DRAIN(0|1) HEALTHY(0|1)`. Sets first, the version last: a worker re-reads a
-- set only once the version it caches by has moved.
local function push()
  local text = body() or ""
  local version = text:match("^version (%S+)\n")
  if version == nil or version == "-" then return fail(400, "fabric: expected a first line `version V`") end
  local sets, list, current = {}, {}, nil
  for line in text:gmatch("[^\n]+") do
    local name, balance = line:match("^upstream (%S+) (%S+)$")
    if name then
      current = { balance }
      sets[name] = current
      list[#list + 1] = name
    elseif line:match("^%S+ %d+ %d+ [01] [01]$") and current then
      current[#current + 1] = line
    elseif not line:match("^version ") then
      return fail(400, "fabric: cannot read line: " .. line)
    end
  end
  table.sort(list)
  for _, name in ipairs(list) do
    local ok, err = dict:set("u:" .. name, table.concat(sets[name], "\n"))
    if not ok then return fail(507, "fabric: shared dict full: " .. tostring(err)) end
  end
  local keep = {}
  for _, name in ipairs(list) do keep[name] = true end
  for _, name in ipairs(names()) do
    if not keep[name] then dict:delete("u:" .. name) end
  end
  dict:set("names", table.concat(list, " "))
  dict:set("version", version)
  return read_back()
end

-- content_by_lua on the control socket: GET reads back, PUT replaces the whole state, nothing else.
function _M.control()
  local method = ngx.req.get_method()
  if method == "GET" then return read_back() end
  if method == "PUT" then return push() end
  return fail(405, "fabric: GET or PUT only")
end

return _M
