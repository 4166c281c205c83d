//! The mistakes the types exist for do not compile (tests/cases/, each
//! with the compiler's message in its .stderr); what they get wrong, done
//! right, does (tests/compiles/).

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.pass("tests/compiles/*.rs");
    t.compile_fail("tests/cases/*.rs");
}
