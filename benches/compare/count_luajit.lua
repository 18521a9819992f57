-- LuaJIT's side of instructions.py: the same loops as count_lune.luau, interpreter only.
-- Usage: luajit count_luajit.lua <libbench.so> <op> [N]
jit.off()
jit.flush()
local ffi = require("ffi")
ffi.cdef([[
typedef struct { float x, y, z; } Vec3;
typedef struct { int64_t id; double value; int32_t count; float weight; } Big;
int b_add(int a, int b);
Vec3 b_scale(Vec3 v, float s);
Big b_make(int64_t n);
int64_t b_drive(int (*cb)(int, int), int n);
const char *b_name(void);
const char *b_name_alternating(void);
]])
local lib = ffi.load(arg[1])
local op, N = arg[2], tonumber(arg[3] or "100000")
local floats_owner = ffi.new("float[1024]")
local floats = ffi.cast("float *", floats_owner)
floats[7] = 1.5
local vec = ffi.new("Vec3", 1, 2, 3)
local cb = ffi.cast("int (*)(int, int)", function(a, b)
	return a + b
end)
local x
if op == "add" then
	local f = lib.b_add
	assert(f(2, 3) == 5)
	for i = 1, N do
		x = f(i, 2)
	end
elseif op == "vec3" then
	local f = lib.b_scale
	assert(f(vec, 2).z == 6)
	for i = 1, N do
		x = f(vec, 2)
	end
elseif op == "big" then
	local f = lib.b_make
	assert(f(40).count == 41)
	for i = 1, N do
		x = f(i)
	end
elseif op == "callback" then
	assert(lib.b_drive(cb, 100) == 5050)
	lib.b_drive(cb, N)
elseif op == "f32read" then
	assert(floats[7] == 1.5)
	for i = 1, N do
		x = floats[7]
	end
elseif op == "fieldread" then
	assert(vec.y == 2)
	for i = 1, N do
		x = vec.y
	end
elseif op == "cstring" then
	assert(ffi.string(lib.b_name()) == "libbench: the peer comparison's C library")
	for i = 1, N do
		x = ffi.string(lib.b_name())
	end
elseif op == "cstring_alternating" then
	assert(ffi.string(lib.b_name_alternating()) ~= ffi.string(lib.b_name_alternating()))
	for i = 1, N do
		x = ffi.string(lib.b_name_alternating())
	end
elseif op == "structnew" then
	assert(ffi.new("Vec3").z == 0)
	for i = 1, N do
		x = ffi.new("Vec3")
	end
elseif op ~= "none" then
	error("unknown op " .. op)
end
