//! docs/writing-a-driver.md is made of this crate: each of its ```rust and
//! ```toml blocks names a file of the repository on its first line, and the
//! rest of the block must be in that file word for word.

use std::path::Path;

#[test]
fn every_code_block_of_the_guide_is_in_the_crate() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(repo.join("docs/writing-a-driver.md")).unwrap();
    let mut blocks = 0;
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        if line != "```rust" && line != "```toml" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        let (first, code) = body.split_first().expect("an empty block");
        let file = first.trim_start_matches("// ").trim_start_matches("# ");
        let text = std::fs::read_to_string(repo.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let code = code.join("\n");
        assert!(text.contains(&code), "docs/writing-a-driver.md: this block is not in {file}:\n{code}");
        blocks += 1;
    }
    assert!(blocks >= 12, "only {blocks} code blocks found");
}
