-- LuaJIT's interpreter (jit.off) with LuaJIT's own FFI, on the operations of
-- benches/compare (see README.md there). Usage: luajit luajit.lua <libbench.so> <op|all> [ms]
-- Prints one line per op: RESULT luajit <op> <ns per op, CPU> <ns per op, wall> <N>
jit.off()
jit.flush()

local ffi = require("ffi")
local libpath, which, target_ms = arg[1], arg[2] or "all", tonumber(arg[3] or "100")

ffi.cdef([[
typedef struct { float x, y, z; } Vec3;
typedef struct { int64_t id; double value; int32_t count; float weight; } Big;
int b_add(int a, int b);
double b_fma(double a, double b, double c);
double b_mixed10(int a, double b, int64_t c, float d, int e, double f, uint8_t g, float h,
                 int16_t i, double j);
Vec3 b_scale(Vec3 v, float s);
Big b_make(int64_t n);
size_t b_strlen(const char *s);
const char *b_name(void);
int64_t b_drive(int (*cb)(int, int), int n);
double b_cpu_seconds(void);
double b_wall_seconds(void);
]])
local lib = ffi.load(libpath)

local cpu, wall = lib.b_cpu_seconds, lib.b_wall_seconds
local floats_owner = ffi.new("float[1024]") -- kept alive below; `floats` points into it
local floats = ffi.cast("float *", floats_owner)
floats[7] = 1.5
local vec = ffi.new("Vec3", 1, 2, 3)
local s64 = string.rep("a", 64)
local cb = ffi.cast("int (*)(int, int)", function(a, b)
	return a + b
end)

-- Each op: a check of its result (a broken binding must not produce a number), then a
-- loop of n iterations. `x = f(...)` in a numeric for loop, as in every runtime here.
local ops = {
	{
		"floor",
		function()
			local f = ({ math.abs })[1]
			assert(f(-1.5) == 1.5)
		end,
		function(n)
			local f = ({ math.abs })[1]
			local x
			for i = 1, n do
				x = f(-1.5)
			end
			return x
		end,
	},
	{
		"add",
		function()
			assert(lib.b_add(2, 3) == 5 and lib.b_add(-7, 3) == -4)
		end,
		function(n)
			local f = lib.b_add
			local x
			for i = 1, n do
				x = f(i, 2)
			end
			return x
		end,
	},
	{
		"fma",
		function()
			assert(lib.b_fma(1.5, 2, 0.25) == 3.25)
		end,
		function(n)
			local f = lib.b_fma
			local x
			for i = 1, n do
				x = f(1.5, 2, 0.25)
			end
			return x
		end,
	},
	{
		"mixed10",
		function()
			assert(lib.b_mixed10(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5) == 57.5)
		end,
		function(n)
			local f = lib.b_mixed10
			local x
			for i = 1, n do
				x = f(1, 2.5, 3, 4.5, 5, 6.5, 7, 8.5, 9, 10.5)
			end
			return x
		end,
	},
	{
		"vec3",
		function()
			local r = lib.b_scale(vec, 2)
			assert(r.x == 2 and r.y == 4 and r.z == 6)
		end,
		function(n)
			local f, v = lib.b_scale, vec
			local x
			for i = 1, n do
				x = f(v, 2)
			end
			return x
		end,
	},
	{
		"big",
		function()
			local r = lib.b_make(40)
			assert(r.id == 40 and r.value == 20 and r.count == 41 and r.weight == 2.5)
		end,
		function(n)
			local f = lib.b_make
			local x
			for i = 1, n do
				x = f(i)
			end
			return x
		end,
	},
	{
		"strlen",
		function()
			assert(lib.b_strlen(s64) == 64)
		end,
		function(n)
			local f, s = lib.b_strlen, s64
			local x
			for i = 1, n do
				x = f(s)
			end
			return x
		end,
	},
	{
		-- A `const char *` return read into a Lua string: ffi.string of the pointer.
		"cstring",
		function()
			assert(ffi.string(lib.b_name()) == "libbench: the peer comparison's C library")
		end,
		function(n)
			local f, str = lib.b_name, ffi.string
			local x
			for i = 1, n do
				x = str(f())
			end
			return x
		end,
	},
	{
		-- A struct value made and dropped per iteration: ffi.new("Vec3") (zeroed, GC-owned).
		"structnew",
		function()
			local v = ffi.new("Vec3")
			assert(v.x == 0 and v.y == 0 and v.z == 0)
		end,
		function(n)
			local new, T = ffi.new, ffi.typeof("Vec3")
			local x
			for i = 1, n do
				x = new(T)
			end
			return x
		end,
		1000000,
	},
	{
		"callback",
		function()
			assert(lib.b_drive(cb, 100) == 5050)
		end,
		function(n)
			return lib.b_drive(cb, n)
		end,
	},
	{
		"f32read",
		function()
			assert(floats[7] == 1.5)
		end,
		function(n)
			local t = floats
			local x
			for i = 1, n do
				x = t[7]
			end
			return x
		end,
	},
	{
		"fieldread",
		function()
			assert(vec.y == 2)
		end,
		function(n)
			local v = vec
			local x
			for i = 1, n do
				x = v.y
			end
			return x
		end,
	},
	{
		-- The bulk path is the same element access: a cdata pointer read is already
		-- LuaJIT's fastest way (no call, no metamethod).
		"f32bulk",
		function()
			assert(floats[7] == 1.5)
		end,
		function(n)
			local t = floats
			local x
			for i = 1, n do
				x = t[7]
			end
			return x
		end,
	},
}

local function hwm_kib()
	local f = assert(io.open("/proc/self/status"))
	local s = f:read("*a")
	f:close()
	return tonumber(s:match("VmHWM:%s*(%d+)"))
end

-- fixed: the timed loop runs exactly that many iterations instead of being sized.
local function measure(name, run, fixed)
	run(1000) -- warm-up
	-- Calibrate: grow n until a run takes 10 ms, then size the timed run to target_ms.
	local n = fixed or 1000
	while not fixed do
		local t0 = cpu()
		run(n)
		local dt = cpu() - t0
		if dt >= 0.01 then
			n = math.floor(n * (target_ms / 1000) / dt)
			break
		end
		n = n * 4
	end
	local hwm0 = hwm_kib()
	local c0, w0 = cpu(), wall()
	run(n)
	local c1, w1 = cpu(), wall()
	print(string.format("RESULT luajit %s %.2f %.2f %d", name, (c1 - c0) * 1e9 / n, (w1 - w0) * 1e9 / n, n))
	-- Peak resident size before and after the timed loop (KiB).
	print(string.format("PEAKRSS luajit %s %d %d", name, hwm0, hwm_kib()))
end

local found = false
for _, op in ipairs(ops) do
	if which == "all" or which == op[1] then
		found = true
		op[2]()
		measure(op[1], op[3], op[4])
	end
end
if not found then
	error("unknown op '" .. which .. "'")
end
assert(floats_owner ~= nil)
