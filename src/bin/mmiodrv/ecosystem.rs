//! Shell completions, man pages and the register-name helper the bash
//! completion calls, all from the one command tree of args.rs.

use std::path::PathBuf;

use mmiodrv::device::DeviceSpec;
use mmiodrv::error::{Error, Result};
use mmiodrv::regmap::RegisterMap;

use crate::args::{full_command, CompletionsArgs, Global, ManArgs, MapArgs};
use crate::context::{load_map, open_device_block, resolve_device};
use crate::output::print_json;

/// Added to clap's bash script: when the word being completed is the TARGET
/// of `read` or `write`, offer the register and field names of the device
/// the command line selects (`mmiodrv [--device D|-s S|-d I] complete-registers
/// [--regmap F] [--bar N] [--block B]`); everything else is clap's.
/// The line is split on blanks (COMP_LINE), not COMP_WORDS, which bash breaks
/// at the colons of `00:04.0`.
const BASH_REGISTERS: &str = r#"
# ---- mmiodrv: register names of the selected device for `read`/`write`
_mmiodrv_registers() {
    local line=${COMP_LINE:0:COMP_POINT} cur="" sel=() map=() cmd="" npos=0 i w
    local -a words
    read -ra words <<< "$line"
    [[ $line =~ [[:space:]]$ ]] || { cur=${words[-1]}; unset 'words[-1]'; }
    for ((i = 1; i < ${#words[@]}; i++)); do
        w=${words[i]}
        case $w in
            --device|-s|--slot|-d|--ids|--state|--backend) sel+=("$w" "${words[i+1]}"); ((i++)) ;;
            --regmap|--bar|--block) map+=("$w" "${words[i+1]}"); ((i++)) ;;
            --device=*|--slot=*|--ids=*|--state=*|--backend=*) sel+=("$w") ;;
            --regmap=*|--bar=*|--block=*) map+=("$w") ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=$w; else ((npos++)); fi ;;
        esac
    done
    if [[ ( $cmd == read || $cmd == write ) && $npos -eq 0 && $cur != -* ]]; then
        local names
        names=$("${words[0]}" "${sel[@]}" complete-registers "${map[@]}" 2>/dev/null)
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
        return 0
    fi
    _mmiodrv "$@"
}
complete -F _mmiodrv_registers -o bashdefault -o default mmiodrv
"#;

pub fn completions(args: &CompletionsArgs) -> Result<()> {
    use clap_complete::Shell;
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut full_command(), "mmiodrv", &mut out);
    if shell == Shell::Bash {
        out.extend_from_slice(BASH_REGISTERS.as_bytes());
    }
    outln!("{}", String::from_utf8_lossy(&out).trim_end());
    Ok(())
}

/// mmiodrv.1 and one page per command (mmiodrv-read.1, mmiodrv-edu-factorial.1...).
pub fn man(g: &Global, args: &ManArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io("cannot create", &args.dir, e))?;
    let mut cmd = full_command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    fn walk(cmd: &clap::Command, dir: &std::path::Path, written: &mut Vec<PathBuf>) -> Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, dir, written)?;
        }
        let man = clap_mangen::Man::new(cmd.clone());
        let path = dir.join(man.get_filename());
        man.generate_to(dir).map_err(|e| Error::io("cannot write", &path, e))?;
        written.push(path);
        Ok(())
    }
    walk(&cmd, &args.dir, &mut written)?;
    written.sort();
    if g.json {
        print_json(&serde_json::json!({ "pages": written }));
    } else {
        outln!("{} man pages written to {}", written.len(), args.dir.display());
    }
    Ok(())
}

fn names(map: &RegisterMap) -> Vec<String> {
    let mut out = Vec::new();
    for r in map.registers.iter() {
        out.push(r.name.to_string());
        out.extend(r.fields.iter().map(|f| format!("{}.{}", r.name, f.name)));
    }
    out
}

/// The names `read`/`write` take on the selected device, one per line. The
/// device is not opened (a VFIO open would reset it): its built-in map is
/// found from its IDs, or the map is --regmap's, or a simulated device's.
pub fn complete_registers(g: &Global, args: &MapArgs) -> Result<()> {
    let map: Option<RegisterMap> = match load_map(args)? {
        Some((map, _)) => Some(map),
        None => match g.device.as_deref().map(DeviceSpec::parse).transpose()? {
            Some(DeviceSpec::Sim(_)) => {
                let dev = open_device_block(g, args.block.as_deref())?;
                let bar = args.bar.unwrap_or(0);
                dev.own_map(bar).cloned()
            }
            Some(DeviceSpec::Pci(_)) => {
                let dev = resolve_device(g)?;
                mmiodrv::drivers::for_device(&dev).and_then(|d| match args.bar {
                    Some(bar) => d.map_for_bar(bar).cloned(),
                    None => d.maps.first().map(|m| (*m).clone()),
                })
            }
            _ => None,
        },
    };
    for name in map.as_ref().map(names).unwrap_or_default() {
        outln!("{name}");
    }
    Ok(())
}
