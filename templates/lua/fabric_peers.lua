-- fabric's run-time upstreams (docs/targets.md, "nginx without reloads"): the router pushes every
-- upstream's peers into the shared dict `fabric_peers` over the control socket; the balancer picks
-- from them. Each upstream carries the version it was last changed in (`g:NAME`): a worker decodes
-- a set once per change of that set and keeps it (and its round-robin state) until the next.
local balancer = require("ngx.balancer")

local dict = ngx.shared.fabric_peers
local _M = {}

-- Per worker: upstream name → { gen, peers, total, balance }.
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

-- nil until the router has pushed this upstream (after a start: the 503 server answers).
local function load(name)
  local gen = dict:get("g:" .. name)
  if gen == nil then
    -- Sets stored by an older fabric_peers.lua (the dict survives the reload that brings this one) have no `g:`.
    gen = dict:get("version")
    if gen == nil or dict:get("u:" .. name) == nil then return nil end
  end
  local entry = cache[name]
  if entry and entry.gen == gen then return entry end
  entry = decode(dict:get("u:" .. name) or "")
  entry.gen = gen
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

-- A 32-bit hash that spreads near-identical strings (`127.0.0.1:8001#3`, neighbouring client addresses)
-- over the whole ring. CRC32 does not: its points and its clients fell in clumps, so a fourth peer took
-- half the clients in 4 % of rings (measured on 3,000 random rings), where MD5's take a quarter.
local function hash32(s)
  local a, b, c, d = string.byte(ngx.md5_bin(s), 1, 4)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- `source`: consistent hashing, as nginx's `hash $remote_addr consistent`. Each peer owns points on a
-- ring, their number fixed by its own weight alone (one a weight unit: 100 at the default), so a peer
-- joining or leaving moves only the clients of its own points. Built once per change of the set.
local function ring(peers)
  local hashes, owners = {}, {}
  for _, p in ipairs(peers) do
    for i = 1, math.max(1, math.ceil(p.weight)) do
      local h = hash32(p.key .. "#" .. i)
      if owners[h] == nil then
        hashes[#hashes + 1] = h
        owners[h] = p
      end
    end
  end
  table.sort(hashes)
  return { hashes = hashes, owners = owners }
end

-- The client address picks the peer on the ring (the first point at or after its hash); retries go round-robin.
local function source(entry, tried)
  if next(tried) ~= nil then return smooth(entry.peers, tried) end
  entry.ring = entry.ring or ring(entry.peers)
  local hashes = entry.ring.hashes
  local h = hash32(ngx.var.remote_addr or "")
  local lo, hi = 1, #hashes
  if h > hashes[hi] then return entry.ring.owners[hashes[1]] end
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if hashes[mid] < h then lo = mid + 1 else hi = mid end
  end
  return entry.ring.owners[hashes[lo]]
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

-- rewrite_by_lua in the catch-all server's `location /`: the host's upstream from the
-- dict (services with no server block of their own: lb/nginx/dynamic/runtime-hosts.ts).
function _M.route()
  if dict:get("version") == nil then
    ngx.status = 503
    ngx.say("fabric: no peers yet for ", ngx.var.host)
    return ngx.exit(503)
  end
  local upstream = dict:get("h:" .. ngx.var.host)
  if upstream == nil then
    ngx.status = 404
    ngx.say("fabric: no service answers at this host")
    return ngx.exit(404)
  end
  ngx.var.fabric_upstream = upstream
end

-- A space-separated list kept under `key` ("names": the upstreams, "hosts": the catch-all's hosts).
local function listed(key)
  local list = {}
  for name in (dict:get(key) or ""):gmatch("%S+") do list[#list + 1] = name end
  return list
end

local function held(name)
  local set = dict:get("u:" .. name)
  if set == nil then return "absent " .. name end
  return "upstream " .. name .. " " .. set
end

local function held_host(host)
  local upstream = dict:get("h:" .. host)
  if upstream == nil then return "nohost " .. host end
  return "host " .. host .. " " .. upstream
end

local function answer(parts)
  ngx.header["Content-Type"] = "text/plain"
  ngx.print(table.concat(parts, "\n"), "\n")
end

-- What nginx holds, in the format it was pushed in: the router compares it with what it sent.
local function read_back()
  local parts = { "version " .. (dict:get("version") or "-") }
  for _, name in ipairs(listed("names")) do parts[#parts + 1] = held(name) end
  for _, host in ipairs(listed("hosts")) do parts[#parts + 1] = held_host(host) end
  return answer(parts)
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

-- The lines after `version V` (and `base B`): per upstream `upstream NAME BALANCE` and its peers a line,
-- `HOST PORT WEIGHT DRAIN(0|1) HEALTHY(0|1)`; `host H UPSTREAM` per catch-all host; in a patch also
-- `remove NAME` and `unhost H`. `echo` keeps what the answer reports, in the body's order.
local function parse(text)
  local parsed = { sets = {}, order = {}, removed = {}, hosts = {}, unhosted = {}, echo = {} }
  local current
  for line in text:gmatch("[^\n]+") do
    local name, balance = line:match("^upstream (%S+) (%S+)$")
    local host, upstream = line:match("^host (%S+) (%S+)$")
    local gone = line:match("^remove (%S+)$")
    local unhost = line:match("^unhost (%S+)$")
    if name then
      current = { balance }
      parsed.sets[name] = current
      parsed.order[#parsed.order + 1] = name
      parsed.echo[#parsed.echo + 1] = { held, name }
    elseif line:match("^%S+ %d+ %d+ [01] [01]$") and current then
      current[#current + 1] = line
    elseif host then
      current = nil
      parsed.hosts[host] = upstream
      parsed.echo[#parsed.echo + 1] = { held_host, host }
    elseif gone then
      current = nil
      parsed.removed[#parsed.removed + 1] = gone
      parsed.echo[#parsed.echo + 1] = { held, gone }
    elseif unhost then
      current = nil
      parsed.unhosted[#parsed.unhosted + 1] = unhost
      parsed.echo[#parsed.echo + 1] = { held_host, unhost }
    elseif not line:match("^version ") and not line:match("^base ") then
      return nil, "fabric: cannot read line: " .. line
    end
  end
  return parsed
end

-- Stores the sets, each under the version it changes in (an unchanged one keeps its own, so
-- workers keep their decoded copy), and the hosts; then both lists, the version last.
local function store(parsed, version, names, hosts)
  for _, name in ipairs(parsed.order) do
    local text = table.concat(parsed.sets[name], "\n")
    if dict:get("u:" .. name) ~= text then
      local ok, err = dict:set("u:" .. name, text)
      if not ok then return "fabric: shared dict full: " .. tostring(err) end
      dict:set("g:" .. name, version)
    end
  end
  for host, upstream in pairs(parsed.hosts) do
    local ok, err = dict:set("h:" .. host, upstream)
    if not ok then return "fabric: shared dict full: " .. tostring(err) end
  end
  table.sort(names)
  table.sort(hosts)
  dict:set("names", table.concat(names, " "))
  dict:set("hosts", table.concat(hosts, " "))
  dict:set("version", version)
end

local function drop(name)
  dict:delete("g:" .. name)
  dict:delete("u:" .. name)
end

-- The keys of `set` as a list.
local function keys(set)
  local list = {}
  for key in pairs(set) do list[#list + 1] = key end
  return list
end

-- PUT: a full state, `version V` then every upstream and host. Those it does not name go.
local function push()
  local text = body() or ""
  local version = text:match("^version (%S+)\n")
  if version == nil or version == "-" then return fail(400, "fabric: expected a first line `version V`") end
  local parsed, err = parse(text)
  if not parsed then return fail(400, err) end
  local names = {}
  for _, name in ipairs(parsed.order) do names[name] = true end
  for _, name in ipairs(listed("names")) do
    if not names[name] then drop(name) end
  end
  for _, host in ipairs(listed("hosts")) do
    if parsed.hosts[host] == nil then dict:delete("h:" .. host) end
  end
  err = store(parsed, version, keys(names), keys(parsed.hosts))
  if err then return fail(507, err) end
  return read_back()
end

-- PATCH: `base B`, `version V`, then only the upstreams and hosts that changed, and `remove NAME` /
-- `unhost H` lines; taken only on top of version B (else 409: the router then pushes the whole
-- state). Answers with the new version, the counts and what nginx now holds for each line's subject.
local function patch()
  local text = body() or ""
  local base, version = text:match("^base (%S+)\nversion (%S+)\n")
  if base == nil or version == "-" then return fail(400, "fabric: expected the lines `base B` and `version V` first") end
  local holds = dict:get("version")
  if holds ~= base then return fail(409, "fabric: holds version " .. (holds or "-") .. ", not " .. base) end
  local parsed, err = parse(text)
  if not parsed then return fail(400, err) end
  local names, hosts = {}, {}
  for _, name in ipairs(listed("names")) do names[name] = true end
  for _, name in ipairs(parsed.order) do names[name] = true end
  for _, name in ipairs(parsed.removed) do
    names[name] = nil
    drop(name)
  end
  for _, host in ipairs(listed("hosts")) do hosts[host] = true end
  for host in pairs(parsed.hosts) do hosts[host] = true end
  for _, host in ipairs(parsed.unhosted) do
    hosts[host] = nil
    dict:delete("h:" .. host)
  end
  local name_list, host_list = keys(names), keys(hosts)
  err = store(parsed, version, name_list, host_list)
  if err then return fail(507, err) end
  local parts = { "version " .. version, "upstreams " .. #name_list, "hosts " .. #host_list }
  for _, line in ipairs(parsed.echo) do parts[#parts + 1] = line[1](line[2]) end
  return answer(parts)
end

-- content_by_lua on the control socket: GET reads back, PUT replaces the whole state, PATCH changes
-- part of it, nothing else.
function _M.control()
  local method = ngx.req.get_method()
  if method == "GET" then return read_back() end
  if method == "PUT" then return push() end
  if method == "PATCH" then return patch() end
  return fail(405, "fabric: GET, PUT or PATCH only")
end

return _M
