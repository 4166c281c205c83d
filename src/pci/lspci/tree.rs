//! The bus tree as `lspci -t` draws it (lspci's ls-tree.c): bridges found
//! from config space (a PCI-to-PCI or CardBus bridge's bus numbers) and from
//! the parent the kernel reports (sysfs), buses under their bridges,
//! devices on their buses, drawn with `+-`, `\-`, `|` and `-[bus]-`; with a
//! filter (`-s`, `-d`), only the branches that lead to a selected device.

use crate::pci::ids::{Numeric, PciIds};

/// One function as the tree needs it.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// Domain.
    pub domain: u32,
    /// Bus.
    pub bus: u8,
    /// Device.
    pub device: u8,
    /// Function.
    pub function: u8,
    /// 16-bit class (base class and subclass).
    pub class: u16,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device_id: u16,
    /// Its first 64 bytes of config space (none: unreadable).
    pub config: Vec<u8>,
    /// The function it is behind, as the kernel reports it (an index into
    /// the list), when known.
    pub parent: Option<usize>,
    /// Whether `-s`/`-d` select it.
    pub selected: bool,
}

#[derive(Debug)]
struct Bridge {
    domain: u32,
    primary: u32,
    secondary: u32,
    subordinate: u32,
    /// The device that is the bridge (None: the host bridge).
    dev: Option<usize>,
    children: Vec<usize>,
    buses: Vec<Bus>,
}

#[derive(Debug)]
struct Bus {
    domain: u32,
    number: u32,
    devices: Vec<usize>,
}

struct Tree<'a> {
    nodes: &'a [Node],
    /// Index 0 is the host bridge.
    bridges: Vec<Bridge>,
    /// The bridge each device is (by device index).
    bridge_of: Vec<Option<usize>>,
    /// Whether a filter was given.
    filtered: bool,
}

impl Tree<'_> {
    fn find_bus(&self, b: usize, domain: u32, number: u32) -> Option<usize> {
        self.bridges[b].buses.iter().position(|u| u.domain == domain && u.number == number)
    }

    fn new_bus(&mut self, b: usize, domain: u32, number: u32) -> usize {
        self.bridges[b].buses.push(Bus { domain, number, devices: Vec::new() });
        self.bridges[b].buses.len() - 1
    }

    fn insert(&mut self, d: usize, b: usize) {
        let n = &self.nodes[d];
        let (domain, busno) = (n.domain, u32::from(n.bus));
        let mut at: Option<(usize, usize)> = None;
        if let Some(pb) = n.parent.and_then(|p| self.bridge_of[p]) {
            let bus = match self.bridges[pb].buses.first() {
                Some(_) => 0,
                None => self.new_bus(pb, domain, busno),
            };
            at = Some((pb, bus));
        }
        if at.is_none() {
            match self.find_bus(b, domain, busno) {
                Some(bus) => at = Some((b, bus)),
                None => {
                    let children = self.bridges[b].children.clone();
                    for c in children {
                        let cb = &self.bridges[c];
                        if cb.domain == domain && cb.secondary <= busno && busno <= cb.subordinate {
                            self.insert(d, c);
                            return;
                        }
                    }
                    at = Some((b, self.new_bus(b, domain, busno)));
                }
            }
        }
        if let Some((b, bus)) = at {
            self.bridges[b].buses[bus].devices.push(d);
        }
    }

    fn dev_selected(&self, d: usize) -> bool {
        if !self.filtered || self.nodes[d].selected {
            return true;
        }
        match self.bridge_of[d] {
            Some(b) => (0..self.bridges[b].buses.len()).any(|u| self.bus_selected(b, u)),
            None => false,
        }
    }

    fn bus_selected(&self, b: usize, u: usize) -> bool {
        !self.filtered || self.bridges[b].buses[u].devices.iter().any(|d| self.dev_selected(*d))
    }
}

/// lspci's line buffer: printing a line turns what was drawn into the
/// continuation of the lines under it (`|` stays, everything else blanks).
struct Lines<'a> {
    out: Vec<String>,
    names: Option<(&'a PciIds, Numeric)>,
}

/// `text` written at `p` of `line` (what follows `p` is dropped): the new
/// line and the position after the text.
fn put(line: &str, p: usize, text: &str) -> (String, usize) {
    let mut s: String = line.get(..p).unwrap_or(line).to_string();
    s.push_str(text);
    let end = s.len();
    (s, end)
}

impl Lines<'_> {
    fn print(&mut self, line: &mut String, p: usize) {
        let shown = line.get(..p).unwrap_or(line).to_string();
        *line = shown.chars().map(|c| if c == '+' || c == '|' { '|' } else { ' ' }).collect();
        self.out.push(shown);
    }
}

fn show_dev(t: &Tree, o: &mut Lines, d: usize, line: &mut String, p: usize) {
    let n = &t.nodes[d];
    let (l, mut p) = put(line, p, &format!("{:02x}.{:x}", n.device, n.function));
    *line = l;
    if let Some(b) = t.bridge_of[d] {
        let br = &t.bridges[b];
        let text = if br.secondary == 0 {
            "-".to_string()
        } else if br.secondary == br.subordinate {
            format!("-[{:02x}]-", br.secondary)
        } else {
            format!("-[{:02x}-{:02x}]-", br.secondary, br.subordinate)
        };
        let (l, q) = put(line, p, &text);
        *line = l;
        show_bridge(t, o, b, line, q);
        return;
    }
    if let Some((ids, numeric)) = o.names {
        let (l, q) = put(line, p, &format!("  {}", ids.vendor_device(n.vendor, n.device_id, numeric)));
        *line = l;
        p = q;
    }
    o.print(line, p);
}

fn show_bus(t: &Tree, o: &mut Lines, b: usize, u: usize, line: &mut String, p: usize) {
    let devices = &t.bridges[b].buses[u].devices;
    match devices.as_slice() {
        [] => o.print(line, p),
        [only] => {
            if t.dev_selected(*only) {
                let (l, q) = put(line, p, "--");
                *line = l;
                show_dev(t, o, *only, line, q);
            } else {
                o.print(line, p);
            }
        }
        [rest @ .., last] => {
            let mut empty = true;
            for d in rest {
                if t.dev_selected(*d) {
                    let (l, q) = put(line, p, "+-");
                    *line = l;
                    show_dev(t, o, *d, line, q);
                    empty = false;
                }
            }
            if t.dev_selected(*last) {
                let (l, q) = put(line, p, "\\-");
                *line = l;
                show_dev(t, o, *last, line, q);
                empty = false;
            }
            if empty {
                o.print(line, p);
            }
        }
    }
}

fn show_bridge(t: &Tree, o: &mut Lines, b: usize, line: &mut String, p: usize) {
    let (l, p) = put(line, p, "-");
    *line = l;
    let buses = &t.bridges[b].buses;
    if buses.len() == 1 {
        if t.bus_selected(b, 0) {
            let mut q = p;
            if b == 0 {
                let (l, r) = put(line, p, &format!("[{:04x}:{:02x}]-", t.bridges[b].domain, buses[0].number));
                *line = l;
                q = r;
            }
            show_bus(t, o, b, 0, line, q);
        } else {
            o.print(line, p);
        }
        return;
    }
    let mut empty = true;
    let last = buses.len().saturating_sub(1);
    for (u, bus) in buses.iter().enumerate() {
        if !t.bus_selected(b, u) {
            continue;
        }
        let lead = if u < last { "+-" } else { "\\-" };
        let (l, q) = put(line, p, &format!("{lead}[{:04x}:{:02x}]-", bus.domain, bus.number));
        *line = l;
        show_bus(t, o, b, u, line, q);
        empty = false;
    }
    if empty {
        o.print(line, p);
    }
}

/// Draw the tree of `nodes` (every function, in lspci's order: domain, bus,
/// device, function), with their names when `names` (`-tv`) is given.
/// `filtered`: a filter was given (only `selected` nodes and the bridges
/// leading to them are drawn).
pub fn draw(nodes: &[Node], filtered: bool, names: Option<(&PciIds, Numeric)>) -> Vec<String> {
    // lspci's host bridge: primary and subordinate ~0, secondary bus 0.
    let host = Bridge {
        domain: 0,
        primary: u32::MAX,
        secondary: 0,
        subordinate: u32::MAX,
        dev: None,
        children: Vec::new(),
        buses: Vec::new(),
    };
    let mut t = Tree { nodes, bridges: vec![host], bridge_of: vec![None; nodes.len()], filtered };
    // Bridges from config space.
    for (i, n) in nodes.iter().enumerate() {
        let c = &n.config;
        let header = if c.len() >= 64 { Some(c[0x0e] & 0x7f) } else { None };
        if n.class >> 8 == 0x06 && matches!(header, Some(1 | 2)) {
            t.bridges.push(Bridge {
                domain: n.domain,
                primary: u32::from(c[0x18]),
                secondary: u32::from(c[0x19]),
                subordinate: u32::from(c[0x1a]),
                dev: Some(i),
                children: Vec::new(),
                buses: Vec::new(),
            });
            t.bridge_of[i] = Some(t.bridges.len() - 1);
        }
    }
    // Bridges the kernel reports as parents.
    for n in nodes {
        let Some(p) = n.parent else { continue };
        if t.bridge_of[p].is_some() {
            continue;
        }
        let parent = &nodes[p];
        t.bridges.push(Bridge {
            domain: parent.domain,
            primary: u32::from(parent.bus),
            secondary: u32::from(n.bus),
            subordinate: u32::from(n.bus),
            dev: Some(p),
            children: Vec::new(),
            buses: Vec::new(),
        });
        t.bridge_of[p] = Some(t.bridges.len() - 1);
    }
    // The bridges' tree.
    for b in 0..t.bridges.len() {
        let parent = t.bridges[b].dev.and_then(|d| nodes[d].parent).and_then(|p| t.bridge_of[p]);
        let best = parent.or_else(|| {
            let mut best: Option<usize> = None;
            for c in 0..t.bridges.len() {
                let (bb, cb) = (&t.bridges[b], &t.bridges[c]);
                if c != b
                    && (c == 0 || bb.domain == cb.domain)
                    && bb.primary >= cb.secondary
                    && bb.primary <= cb.subordinate
                    && best.is_none_or(|x| {
                        let xb = &t.bridges[x];
                        xb.subordinate.wrapping_sub(xb.primary) > cb.subordinate.wrapping_sub(cb.primary)
                    })
                {
                    best = Some(c);
                }
            }
            best
        });
        if let Some(best) = best {
            // lspci prepends each child to its parent's list.
            t.bridges[best].children.insert(0, b);
        }
    }
    // Each bridge's secondary bus.
    for b in 0..t.bridges.len() {
        let (domain, secondary) = (t.bridges[b].domain, t.bridges[b].secondary);
        if t.find_bus(b, domain, secondary).is_none() {
            t.new_bus(b, domain, secondary);
        }
    }
    for d in 0..nodes.len() {
        t.insert(d, 0);
    }
    let mut o = Lines { out: Vec::new(), names };
    let mut line = String::new();
    show_bridge(&t, &mut o, 0, &mut line, 0);
    o.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(bus: u8, device: u8, bridge: Option<(u8, u8)>) -> Node {
        let mut config = vec![0u8; 64];
        if let Some((sec, sub)) = bridge {
            config[0x0e] = 1;
            config[0x19] = sec;
            config[0x1a] = sub;
        }
        Node {
            bus,
            device,
            class: if bridge.is_some() { 0x0604 } else { 0x0200 },
            config,
            selected: true,
            ..Node::default()
        }
    }

    #[test]
    fn draws_as_lspci() {
        let nodes = vec![node(0, 0, None), node(0, 9, Some((1, 1))), node(0, 0x1f, None), node(1, 0, None)];
        let lines = draw(&nodes, false, None);
        assert_eq!(lines, ["-[0000:00]-+-00.0", "           +-09.0-[01]----00.0", "           \\-1f.0"]);
    }

    #[test]
    fn filters_keep_the_path_to_a_selected_device() {
        let mut nodes = vec![node(0, 0, None), node(0, 9, Some((1, 1))), node(0, 0x1f, None), node(1, 0, None)];
        for (i, n) in nodes.iter_mut().enumerate() {
            n.selected = i == 3;
        }
        assert_eq!(draw(&nodes, true, None), ["-[0000:00]-+-09.0-[01]----00.0"]);
        assert_eq!(draw(&nodes[..1], true, None), ["-"]);
        assert_eq!(draw(&[], false, None), ["-[0000:00]-"]);
    }
}
