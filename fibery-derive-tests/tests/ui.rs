//! Compile-pass and compile-fail tests of the derives (expected stderr checked in).
//! Regenerate with `TRYBUILD=overwrite cargo test -p fibery-derive-tests --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}
