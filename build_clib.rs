// Temporary placeholder; replaced by the real C test library build.
pub fn build_test_clib() {}
