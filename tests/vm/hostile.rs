//! The hostile corpus (tests/data/hostile.txt, format in its header) run in
//! the guest as one shell script: every line with `timeout -s KILL 10`, its
//! exit status checked against the one it names (`#=N`), then a sanity read
//! of edu's ID. Set-up lines (`! `) and checks (`? `) around a line give
//! the cases of issue 23 that need another user's process, a removal or a
//! victim file. The verdict of each line is worked out in the
//! guest and only the bad ones come back in full, so the serial line carries
//! a few kilobytes, not every command's output.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use mmiodrv_lab::Lab;

use crate::common::vm::{check, fails, ok, sh};
use crate::EDU;

/// The hostile files the corpus names as `$H/...`.
const SETUP: &str = r#"
set -e
H=/tmp/hostile; rm -rf $H; mkdir -p $H/dir; cd $H
rep() { head -c "$1" /dev/zero | tr '\0' X | sed "s/X/$2/g"; }
rep 70000 A > huge-word
W=$(cat huge-word)
printf '[device]\nname = "ok"\nsize = 4096\n\n[[register]]\nname = "R"\noffset = 0\nwidth = 32\naccess = "RW"\n\n[[register.field]]\nname = "F"\nbits = "3:0"\n' > ok.toml
toml() { printf '[device]\nname = "x"\n\n[[register]]\nname = "%s"\noffset = 0\nwidth = %s\naccess = "%s"\n' "$1" "$2" "$3"; }
toml "$W" 32 RW > huge-name.toml
{ toml R 32 RW; printf '\n[[register.field]]\nname = "%s"\nbits = "3:0"\n' "$W"; } > huge-field.toml
toml R 32 "$W" > huge-access.toml
{ printf '[device]\nname = "x"\ndescription = "%s%s"\n' "$W" "$W"; } > huge-desc.toml
{ toml R 32 RW; printf '\n[[register.field]]\nname = "F"\nbits = "3:0"\nvalues = { 0 = "%s" }\n' "$W"; } > huge-value.toml
toml R "\"$W\"" RW > huge-width.toml
{ printf '[device]\nname = '; rep 5000 '['; rep 5000 ']'; echo; } > nest.toml
{ printf 'a = '; rep 2000 '{a='; printf 1; rep 2000 '}'; echo; } > nest-inline.toml
printf '[device]\nname = "x"\n# \377\376\n' > bad-utf8.toml
dd if=/dev/zero of=big.toml bs=1 count=0 seek=104857600 2>/dev/null
{ rep 5000 '<cluster>'; rep 5000 '<\/cluster>'; echo; } > deep.xml
{ printf '<device><name>D</name><peripherals><peripheral><name>P</name><baseAddress>0</baseAddress><registers>'
  rep 3000 '<cluster><name>C<\/name><addressOffset>0<\/addressOffset>'; rep 3000 '<\/cluster>'
  printf '</registers></peripheral></peripherals></device>\n'; } > deep.svd
{ rep 5000 '{"a":'; printf 1; rep 5000 '}'; echo; } > deep.json
printf '<component xmlns="http://www.accellera.org/XMLSchema/IPXACT/1685-2014"><name>\n' > bad.xml
printf '<!DOCTYPE x [<!ENTITY a "aaaa">]><device>&a;</device>\n' > entity.xml
printf 'csr_register,x,0xffffffffffffffffff,65,rw\n' > bad.csv
printf '{"mmiodrv_sim_state": "x"' > garbage.json
head -c 4096 /dev/zero > 4k.bin
head -c 16 /dev/zero > ok.bin
head -c 1048576 /dev/zero > shm
: > empty
mkfifo fifo
{ printf 'echo '; head -c 100000 /dev/zero | tr '\0' A; echo; } > long-line.txt
printf "read ID\necho 'open\n" > unclosed.txt
printf 'read ID\nfrobnicate\nread 0x0 --width 12\nwrite 0x4 -1\nsleep -5\nread NOPE\nread ID\n' > bad-lines.txt
printf 'echo "%s"\nread "%s"\n' "$W" "$W" > huge-echo.txt
printf 'write 0 -1\nsleep -5\npoll R 0 --timeout -1\nwait-irq --count 0\ndma alloc -1\n' > neg.txt
printf 'read ID\nexpect ID 0x010000ed\nwrite LIVENESS 0x5\n' > ok-script.txt
# Issue 23: arrays that expand past what a map may hold, counted first.
svd() { printf '<?xml version="1.0"?>\n<device><name>D</name><addressUnitBits>8</addressUnitBits><width>32</width><size>32</size><access>read-write</access><peripherals><peripheral><name>P</name><baseAddress>0</baseAddress><registers>%s</registers></peripheral></peripherals></device>\n' "$1"; }
svd '<register><dim>10000000</dim><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>' > dim.svd
svd '<register><dim>4</dim><dimIndex>0-4000000000</dimIndex><dimIncrement>4</dimIncrement><name>R%s</name><addressOffset>0</addressOffset></register>' > dimindex.svd
{ printf '<cluster><name>D0</name><addressOffset>0</addressOffset><register><name>R</name><addressOffset>0</addressOffset></register></cluster>'
  i=1; while [ $i -le 30 ]; do m=$((i-1)); printf '<cluster><name>D%d</name><addressOffset>0</addressOffset><cluster derivedFrom="D%d"><name>A%d</name><addressOffset>0</addressOffset></cluster><cluster derivedFrom="D%d"><name>B%d</name><addressOffset>0</addressOffset></cluster></cluster>' $i $m $i $m $i; i=$((i+1)); done; } > derived.body
svd "$(cat derived.body)" > derived.svd
printf '<?xml version="1.0"?>\n<ipxact:component xmlns:ipxact="http://www.accellera.org/XMLSchema/IPXACT/1685-2014"><ipxact:memoryMaps><ipxact:memoryMap><ipxact:name>m</ipxact:name><ipxact:addressBlock><ipxact:name>b</ipxact:name><ipxact:baseAddress>0</ipxact:baseAddress><ipxact:registerFile><ipxact:name>F</ipxact:name><ipxact:dim>1048576</ipxact:dim><ipxact:addressOffset>0</ipxact:addressOffset><ipxact:range>4096</ipxact:range><ipxact:register><ipxact:name>R</ipxact:name><ipxact:dim>1024</ipxact:dim><ipxact:addressOffset>0</ipxact:addressOffset><ipxact:size>32</ipxact:size></ipxact:register></ipxact:registerFile></ipxact:addressBlock></ipxact:memoryMap></ipxact:memoryMaps></ipxact:component>\n' > nested.xml
# A LiteX csr.json of 20,000 registers (its key lines were searched for one by one).
awk 'BEGIN { printf "{\"csr_bases\": {\"b\": 0}, \"csr_registers\": {"; for (i = 0; i < 20000; i++) printf "%s\"b_r%d\": {\"addr\": %d, \"size\": 1, \"type\": \"rw\"}", (i ? ",\n" : "\n"), i, i * 4; print "}, \"constants\": {}}" }' > many.json
# A trace naming the huge SVD as its map; a trace and a snapshot too big to read.
printf '{"trace":1,"device":"0000:00:04.0","ids":null,"backend":"sysfs","time":"t"}\n{"us":1,"op":"regmap","bar":0,"name":"P","file":"%s/dim.svd"}\n{"us":2,"op":"read","bar":0,"offset":0,"width":32,"value":1}\n' "$H" > dim-trace.jsonl
dd if=/dev/zero of=huge.bin bs=1 count=0 seek=209715200 2>/dev/null
dd if=/dev/zero of=bigshm bs=1 count=0 seek=33554432 2>/dev/null
# Map text with terminal escapes; SystemRDL-looking text not named *.rdl.
printf '[device]\nname = "esc"\nsize = 4096\ndescription = "\\u001b]0;owned\\u0007\\u001b[2J"\n\n[[register]]\nname = "R"\noffset = 0\nwidth = 32\naccess = "RW"\n\n[[register.field]]\nname = "F"\nbits = "1:0"\nvalues = { 0 = "off\\u001b[2J" }\n' > escape.toml
printf 'addrmap evil { reg { field {} f; } x; };\n' > evil.txt
# A root-owned secret, and links to it another user (lab) owns in a shared directory.
printf secret > victim; chmod 600 victim
mkdir -p shared; chmod 1777 shared
for n in out trace state snap conv dma; do ln -sf $H/victim shared/$n; chown -h lab shared/$n; done
echo ready
"#;

/// Runs every line and prints `COUNT n`, one `S status` per line, and a
/// `BAD` block for each line that broke a rule. Also the corpus's format
/// (tests/data/hostile.txt's header says the same).
const RUN: &str = r#"
H=/tmp/hostile; cd $H; n=0; bad=0
mkdir -p /tmp/hostile-locks && chmod 700 /tmp/hostile-locks
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue;; esac
  case "$line" in
    # Set-up for the next line (a process holding something, a removal to come): run, output dropped.
    '! '*) ( eval "${line#! }" ) </dev/null >/dev/null 2>&1; continue;;
    # A condition that must hold after the line before (a victim file untouched, no escape printed).
    '? '*)
      if ! ( eval "${line#? }" ) </dev/null >/dev/null 2>&1; then
        bad=$((bad+1)); echo "BAD $n: check failed: ${line#? }"
      fi
      continue;;
  esac
  n=$((n+1))
  # The exit status the line must have, when it ends with '#=N' (a shell comment to eval).
  exp=$(printf '%s' "$line" | sed -n 's/.*[[:space:]]#=\([0-9][0-9]*\)$/\1/p')
  # In a subshell: a line that is not even shell syntax must not end the run.
  ( eval "timeout -s KILL 10 mmiodrv $line" ) </dev/null >out 2>err
  s=$?
  # edu must read its ID afterwards (give a removed device back 3 s to return);
  # with locks of its own, whatever a line did to the lock directory.
  for t in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    id=$(MMIODRV_LOCK_DIR=/tmp/hostile-locks mmiodrv --device 0000:00:04.0 read ID --quiet 2>&1)
    [ "$id" = 0x010000ed ] && break
    sleep 0.2
  done
  lines=$(grep -c '' err)
  why=
  case $s in 0|2|3|4|5|6|7|8|9|10) ;; 137) why="hang or killed (exit 137)";; 101) why="panic (exit 101)";; *) why="undocumented exit status $s";; esac
  if [ -n "$exp" ] && [ "$s" != "$exp" ]; then why="$why; exit $s, expected $exp"; fi
  if grep -q -e panicked -e TRIPWIRE err; then why="$why; panicked/tripwire on stderr"; fi
  if [ "$s" = 0 ] && [ "$lines" != 0 ]; then why="$why; success with $lines stderr line(s)"; fi
  # A batch run with --keep-going reports each failing line (one line each).
  # So does regmap check, one line per problem of the map.
  case "$line" in *--keep-going*|'regmap check '*) many=1;; *) many=;; esac
  # Exit 10 is a check's finding: printed on stdout, nothing on stderr.
  if [ "$s" = 10 ] && [ "$lines" = 0 ]; then many=1; fi
  if [ "$s" != 0 ] && [ "$lines" != 1 ] && [ -z "$many" ]; then why="$why; $lines stderr lines"; fi
  if [ "$s" != 0 ] && grep -q -v '^mmiodrv: error: ' err; then why="$why; not only 'mmiodrv: error:' lines"; fi
  if [ "$s" != 0 ] && [ "$s" != 10 ] && [ "$lines" = 0 ]; then why="$why; no error line"; fi
  if [ "$id" != 0x010000ed ]; then why="$why; edu's ID then read '$id'"; fi
  echo "S $s"
  if [ -n "$why" ]; then
    bad=$((bad+1))
    echo "BAD $n: $why"
    echo "  line: $(printf %s "$line" | head -c 300)"
    head -n 3 err | cut -c1-300 | sed 's/^/  stderr: /'
  fi
done < hostile.txt
for d in 04.0 05.0 07.0 08.0 1f.0 1f.2 01.0; do mmiodrv --device 0000:00:$d bind --restore >/dev/null 2>&1 || true; done
echo "COUNT $n"
"#;

pub fn corpus(lab: &mut Lab) -> Result<(), Failed> {
    let corpus = std::fs::read(mmiodrv_lab::repo_root().join("tests/data/hostile.txt"))
        .map_err(|e| Failed::from(format!("tests/data/hostile.txt: {e}")))?;
    let start = Instant::now();
    // Scripts go as files: one long request line is more than the serial
    // agent likes to carry.
    let put =
        |lab: &mut Lab, path: &str, data: &[u8]| lab.put_file(path, data).map_err(|e| Failed::from(e.to_string()));
    put(lab, "/tmp/hostile-setup.sh", SETUP.as_bytes())?;
    put(lab, "/tmp/hostile-run.sh", RUN.as_bytes())?;
    let setup = ok(lab, "sh /tmp/hostile-setup.sh")?;
    check(setup.trim_end().ends_with("ready"), format!("setup: {setup}"))?;
    put(lab, "/tmp/hostile/hostile.txt", &corpus)?;
    let setup_time = start.elapsed();
    let o = lab
        .run_with_timeout("sh /tmp/hostile-run.sh", Duration::from_secs(900))
        .map_err(|e| Failed::from(e.to_string()))?;
    let out = o.stdout_str();
    let count: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("COUNT "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Failed::from(format!("no COUNT in the run's output:\n{out}\n{}", o.stderr_str())))?;
    let mut statuses = std::collections::BTreeMap::new();
    for s in out.lines().filter_map(|l| l.strip_prefix("S ")) {
        *statuses.entry(s.trim().to_string()).or_insert(0usize) += 1;
    }
    let bad: Vec<&str> = out.lines().filter(|l| l.starts_with("BAD") || l.starts_with("  ")).collect();
    eprintln!(
        "hostile corpus: {count} lines in {:.1} s (setup {:.1} s); exit statuses {statuses:?}; {} bad",
        start.elapsed().as_secs_f64(),
        setup_time.as_secs_f64(),
        out.lines().filter(|l| l.starts_with("BAD")).count()
    );
    check(count >= 300, format!("only {count} lines in the corpus"))?;
    check(statuses.values().sum::<usize>() == count, format!("{count} lines but statuses {statuses:?}"))?;
    check(bad.is_empty(), format!("lines that broke the rules:\n{}", bad.join("\n")))?;
    Ok(())
}

/// An argument found wrong only after arming must still stop before the
/// write: `--vector 9` on edu's one MSI vector raises nothing.
pub fn vector_checked_before_the_write(lab: &mut Lab) -> Result<(), Failed> {
    ok(lab, &format!("{EDU} bind vfio-pci"))?;
    let result = (|| {
        ok(lab, &format!("{EDU} write IRQ_ACK 0xffffffff"))?;
        fails(lab, &format!("{EDU} write IRQ_RAISE 1 --wait-irq --vector 9"), 2, "there is no vector 9")?;
        let status = ok(lab, &format!("{EDU} read IRQ_STATUS --quiet"))?;
        check(status.trim() == "0x00000000", format!("IRQ_STATUS after the refused write: {status}"))
    })();
    let restore = sh(lab, &format!("{EDU} bind --restore"))?;
    result?;
    check(restore.status == 0, format!("bind --restore: {}", restore.stderr_str()))
}
