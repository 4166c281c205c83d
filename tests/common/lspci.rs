//! Comparing `mmiodrv info` with `lspci` for the same devices: line for
//! line, every line (title, header lines, BARs, bridge windows, every
//! capability and its decoded registers, kernel driver, IOMMU group).
//! Used on the host's own devices (read-only) and in the lab's guests.

/// Every difference between mmiodrv's output and lspci's (empty when they
/// are identical): the first differing line of each device, with both texts.
pub fn line_for_line(ours: &str, theirs: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let mut problems = Vec::new();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            problems.push(format!("line {}:\n   mmiodrv {x:?}\n     lspci {y:?}", i + 1));
            break;
        }
    }
    if a.len() != b.len() {
        let k = a.len().min(b.len());
        let more = if a.len() > b.len() { ("mmiodrv", a[k]) } else { ("lspci", b[k]) };
        problems.push(format!("{} lines against lspci's {}; {} goes on with {:?}", a.len(), b.len(), more.0, more.1));
    }
    problems
}

/// How many lines and capability blocks two outputs have in common, for
/// the figures a test prints: (identical lines, lspci's lines, identical
/// capability blocks, lspci's capability blocks).
pub fn figures(ours: &str, theirs: &str) -> (usize, usize, usize, usize) {
    let blocks = |text: &str| -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut open = false;
        for l in text.lines() {
            if l.starts_with("\tCapabilities: ") {
                out.push(vec![l.to_string()]);
                open = true;
            } else if open && l.starts_with("\t\t") {
                if let Some(b) = out.last_mut() {
                    b.push(l.to_string());
                }
            } else {
                open = false;
            }
        }
        out
    };
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let lines = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    let (ba, bb) = (blocks(ours), blocks(theirs));
    let same = bb.iter().enumerate().filter(|(i, blk)| ba.get(*i) == Some(blk)).count();
    (lines, b.len(), same, bb.len())
}
