//! Help, shell completions and man pages, drawn by clap from the one
//! grammar's declarations. Nothing here parses a command line.

use std::io::Write;
use std::path::Path;

use clap::{Arg as ClapArg, ArgAction, Command as ClapCommand};
use mmiodrv::command::{Arg, ArgKind, Command, Run};
use mmiodrv::error::{Error, Result};
use mmiodrv::ErrorClass;

use super::{ENVIRONMENT, GLOBALS, GLOBAL_HEADING, VERSION};

/// An argument as clap draws it.
fn clap_arg(a: &Arg) -> ClapArg {
    let mut arg = ClapArg::new(a.name).help(a.help);
    arg = match a.kind {
        ArgKind::Positional { required } => {
            let mut arg = arg.required(required).value_name(a.placeholder());
            if a.many {
                arg = arg.num_args(if required { 1.. } else { 0.. }).action(ArgAction::Append);
            }
            if a.trailing {
                arg = arg.trailing_var_arg(true).allow_hyphen_values(true);
            }
            arg
        }
        ArgKind::Option { required } => {
            let action = if a.many { ArgAction::Append } else { ArgAction::Set };
            arg.long(a.name).required(required).value_name(a.placeholder()).action(action)
        }
        ArgKind::Flag => arg.long(a.name).action(ArgAction::SetTrue),
        ArgKind::Count => arg.long(a.name).action(ArgAction::Count),
    };
    if let Some(c) = a.short {
        arg = arg.short(c);
    }
    if let Some(choices) = a.value.choices() {
        arg = arg.value_parser(choices.to_vec());
    }
    if let Some(d) = a.default {
        arg = arg.default_value(d);
    }
    if let Some(var) = a.env {
        arg = arg.env(var);
    }
    arg
}

/// `Examples:` as help's closing section.
pub fn examples_text(examples: &[(&str, &str)]) -> Option<String> {
    if examples.is_empty() {
        return None;
    }
    let lines: Vec<String> = examples
        .iter()
        .map(|(line, what)| if what.is_empty() { format!("  {line}") } else { format!("  {line}\n      {what}") })
        .collect();
    Some(format!("Examples:\n{}", lines.join("\n")))
}

/// A command (and its subcommands) as clap draws it.
pub fn clap_command(c: &Command) -> ClapCommand {
    let mut cmd = ClapCommand::new(c.name).about(c.about).hide(c.hidden).visible_aliases(c.aliases.iter().copied());
    for a in c.args {
        // A command's own letter that a global option has too (setpci's -v):
        // the parser gives it to the command; clap, which draws the help, can
        // hold only one, so the command's is written into its help.
        match a.short.filter(|s| GLOBALS.iter().any(|g| g.short == Some(*s))) {
            Some(letter) => {
                let help = format!("-{letter}: {}", a.help);
                cmd = cmd.arg(clap_arg(&Arg { short: None, ..*a }).help(help));
            }
            None => cmd = cmd.arg(clap_arg(a)),
        }
    }
    if let Some(text) = examples_text(c.examples) {
        cmd = cmd.after_help(text);
    }
    if let Run::Group = c.run {
        cmd = cmd.subcommand_required(true);
    }
    for s in c.subcommands {
        cmd = cmd.subcommand(clap_command(s));
    }
    cmd
}

/// What an exit status means (help, man pages and the README say the same).
pub fn class_meaning(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Usage => {
            "bad command line: address, value, width, register or field name, read-only/write-only misuse, range"
        }
        ErrorClass::NotFound => "not found: no such device, BAR, register or capability",
        ErrorClass::Permission => "permission denied (the message names root or the udev rules)",
        ErrorClass::Io => "I/O error from a system call",
        ErrorClass::Refused => {
            "the device refuses: bound to a kernel driver, decoding off, busy, in use, verify mismatch"
        }
        ErrorClass::InvalidMap => "invalid register-map file (FILE:LINE: problem)",
        ErrorClass::Timeout => "timed out waiting (interrupts, factorial, DMA)",
        ErrorClass::Released => "the kernel took the device back (removal, unbind) while in use",
        ErrorClass::Interrupted => "interrupted by a signal (143 for SIGTERM); stopped safely",
        ErrorClass::Findings => "a check found problems or differences (doctor, diff)",
        ErrorClass::Disconnected => {
            "--host: the connection was lost while the command ran there (the message names the last line done)"
        }
        ErrorClass::Unreachable => {
            "--host: the host could not be reached or logged into, or has no mmiodrv of this version (nothing ran)"
        }
    }
}

/// Each exit status with its meaning.
pub fn exit_statuses() -> Vec<(i32, &'static str)> {
    std::iter::once((0, "success"))
        .chain(std::iter::once((1, "an error of no other class (a bug: please report it)")))
        .chain(ErrorClass::ALL.iter().map(|c| (crate::output::errors::exit_code(*c), class_meaning(*c))))
        .collect()
}

/// The top level's closing section: examples, environment, exit statuses.
fn top_after_help() -> String {
    let examples = examples_text(&[
        ("mmiodrv list", "the PCI devices, with names, drivers and IOMMU groups"),
        ("mmiodrv -s 00:04.0 dump-regs", "the registers of the device in slot 00:04.0"),
        ("mmiodrv -d 1234:11e8 write LIVENESS 0x1 --verify", "a register of the one device with these IDs"),
        ("mmiodrv --device sim:examples/maps/edu.toml read ID", "a simulated device: no hardware, no root"),
    ])
    .unwrap_or_default();
    let env: Vec<String> = ENVIRONMENT.iter().map(|(var, what)| format!("  {var:<24}{what}")).collect();
    let codes: Vec<String> = exit_statuses().iter().map(|(code, what)| format!("  {code:<4}{what}")).collect();
    format!("{examples}\n\nEnvironment:\n{}\n\nExit status:\n{}", env.join("\n"), codes.join("\n"))
}

/// The whole command line as clap draws it.
pub fn clap_root(tree: &[&'static Command]) -> ClapCommand {
    let mut root = ClapCommand::new(super::program())
        .version(VERSION)
        .about("Userspace PCI/MMIO driver toolkit: inspect devices, dump and poke registers")
        .subcommand_required(true)
        .after_help(top_after_help());
    for g in GLOBALS.iter().filter(|g| g.name != "version") {
        root = root.arg(clap_arg(g).global(true).help_heading(GLOBAL_HEADING));
    }
    for c in tree {
        root = root.subcommand(clap_command(c));
    }
    root
}

/// The clap command at `path` under `cmd` (as far as the names go).
fn find<'c>(cmd: &'c ClapCommand, path: &[&str]) -> &'c ClapCommand {
    match path.split_first().and_then(|(first, rest)| Some((cmd.find_subcommand(first)?, rest))) {
        Some((sub, rest)) => find(sub, rest),
        None => cmd,
    }
}

/// The long help of the command at `path` (the top level when empty).
pub fn help_text(tree: &[&'static Command], path: &[&str]) -> String {
    let mut root = clap_root(tree);
    root.build();
    find(&root, path).clone().render_long_help().to_string()
}

/// The help of a line's command in a script or the shell: the same
/// declarations, drawn without the program's name and global options.
pub fn line_help_text(tree: &[&'static Command], path: &[&str]) -> String {
    let mut root = ClapCommand::new("").no_binary_name(true).subcommand_required(true);
    for c in tree {
        root = root.subcommand(clap_command(c));
    }
    root.build();
    let text = find(&root, path).clone().render_long_help().to_string();
    text.replace("Usage:  ", "Usage: ")
}

/// Added to clap's bash script: when the word being completed is the TARGET
/// of a register operation, offer the register and field names of the device
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
    if [[ ( $cmd == read || $cmd == write || $cmd == poll || $cmd == expect ) && $npos -eq 0 && $cur != -* ]]; then
        local names
        names=$("${words[0]}" "${sel[@]}" complete-registers "${map[@]}" 2>/dev/null)
        COMPREPLY=($(compgen -W "$names" -- "$cur"))
        return 0
    fi
    _mmiodrv "$@"
}
complete -F _mmiodrv_registers -o bashdefault -o default mmiodrv
"#;

/// A completion script for `shell` (bash, zsh or fish).
pub fn completions(tree: &[&'static Command], shell: &str) -> String {
    use clap_complete::Shell;
    let shell = match shell {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut out = Vec::new();
    let name = super::program();
    clap_complete::generate(shell, &mut clap_root(tree), name, &mut out);
    if shell == Shell::Bash {
        // The functions clap named after the program (`_mmiodrv`, `_blinky`).
        let function = format!("_{}", name.replace('-', "__"));
        let script =
            BASH_REGISTERS.replace("_mmiodrv", &function).replace("default mmiodrv", &format!("default {name}"));
        out.extend_from_slice(script.as_bytes());
    }
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// One roff section: a heading and paragraphs.
fn section(page: &mut Vec<u8>, title: &str, paragraphs: &[(String, String)]) {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut roff = Roff::default();
    roff.control("SH", [title]);
    for (head, body) in paragraphs {
        roff.control("TP", []);
        roff.text([bold(head.as_str())]);
        roff.text([roman(body.as_str())]);
    }
    let _ = roff.to_writer(page);
}

/// One page: clap's sections, then EXAMPLES, EXIT STATUS, ENVIRONMENT and
/// SEE ALSO.
fn page(cmd: &ClapCommand, examples: &[(&str, &str)], related: &[String]) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let io = |e: std::io::Error| Error::io("cannot render", "a man page", e);
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    man.render_options_section(&mut out).map_err(io)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out).map_err(io)?;
    }
    let examples: Vec<(String, String)> = examples.iter().map(|(l, w)| (l.to_string(), w.to_string())).collect();
    if !examples.is_empty() {
        section(&mut out, "EXAMPLES", &examples);
    }
    let codes: Vec<(String, String)> = exit_statuses().iter().map(|(c, w)| (c.to_string(), w.to_string())).collect();
    section(&mut out, "EXIT STATUS", &codes);
    let env: Vec<(String, String)> = ENVIRONMENT.iter().map(|(v, w)| (v.to_string(), w.to_string())).collect();
    section(&mut out, "ENVIRONMENT", &env);
    let mut see = vec!["lspci(8)".to_string(), "setpci(8)".to_string()];
    see.extend(related.iter().cloned());
    let see = see.join(", ");
    let mut roff = clap_mangen::roff::Roff::default();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([clap_mangen::roff::roman(see.as_str())]);
    roff.to_writer(&mut out).map_err(io)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out).map_err(io)?;
    }
    Ok(out)
}

/// mmiodrv.1 and one page per command (mmiodrv-read.1, mmiodrv-edu-factorial.1...)
/// into `dir`; the paths written.
pub fn man_pages(tree: &[&'static Command], dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
    let mut root = clap_root(tree).disable_help_subcommand(true);
    root.build();
    let name = super::program();
    let top: Vec<String> = tree.iter().filter(|c| !c.hidden).map(|c| format!("{name}-{}(1)", c.name)).collect();
    // Each page: the command as clap draws it, its examples, what it refers to.
    type Page<'c> = (&'c ClapCommand, &'static [(&'static str, &'static str)], Vec<String>);
    fn collect<'c>(cmd: &'c ClapCommand, spec: &'static Command, pages: &mut Vec<Page<'c>>) {
        pages.push((cmd, spec.examples, vec![format!("{}(1)", super::program())]));
        for s in spec.subcommands.iter().filter(|s| !s.hidden) {
            if let Some(sub) = cmd.find_subcommand(s.name) {
                collect(sub, s, pages);
            }
        }
    }
    let mut pages: Vec<Page<'_>> = vec![(&root, &[], top)];
    for spec in tree.iter().filter(|c| !c.hidden) {
        if let Some(cmd) = root.find_subcommand(spec.name) {
            collect(cmd, spec, &mut pages);
        }
    }
    let mut written = Vec::new();
    for (cmd, examples, related) in pages {
        let path = dir.join(clap_mangen::Man::new(cmd.clone()).get_filename());
        let text = page(cmd, examples, &related)?;
        let mut file = mmiodrv::value::create_output_file(&path)?;
        file.write_all(&text).map_err(|e| Error::io("cannot write", &path, e))?;
        file.commit()?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Help you can work from: every command and argument says what it is,
    /// every command shows examples, global options stand under their own
    /// heading, and the top level lists every exit status and variable.
    #[test]
    fn help_is_complete() {
        let tree = crate::cli::tree_with(&crate::commands::PROGRAM);
        fn walk(path: &str, c: &Command, problems: &mut Vec<String>) {
            let here = format!("{path} {}", c.name).trim().to_string();
            if c.about.trim().is_empty() && !c.hidden {
                problems.push(format!("{here}: no about"));
            }
            for a in c.args {
                if a.help.trim().is_empty() {
                    problems.push(format!("{here} {}: no help", a.name));
                }
            }
            if !c.hidden && c.subcommands.is_empty() && c.examples.is_empty() {
                problems.push(format!("{here}: no examples"));
            }
            for s in c.subcommands {
                walk(&here, s, problems);
            }
        }
        let mut problems = Vec::new();
        for c in tree {
            walk("", c, &mut problems);
        }
        let mut root = clap_root(tree);
        root.build();
        for a in root.get_arguments().filter(|a| a.is_global_set()) {
            if a.get_help_heading() != Some(GLOBAL_HEADING) {
                problems.push(format!("{}: a global option outside '{GLOBAL_HEADING}'", a.get_id()));
            }
        }
        let top = help_text(tree, &[]);
        for (code, _) in exit_statuses() {
            if !top.contains(&format!("\n  {code:<4}")) {
                problems.push(format!("top-level help lacks exit status {code}"));
            }
        }
        for (var, _) in ENVIRONMENT {
            if !top.contains(var) {
                problems.push(format!("top-level help does not explain {var}"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Every environment variable the program reads is documented.
    #[test]
    fn every_variable_read_is_documented() {
        let root = mmiodrv_lab_free_root();
        let mut missing = Vec::new();
        for dir in ["src", "drivers"] {
            for file in files(&root.join(dir)) {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                for (i, _) in text.match_indices("\"MMIODRV_") {
                    let var: String =
                        text[i + 1..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
                    if var.len() > 8 && var != "MMIODRV_GIT_COMMIT" && !ENVIRONMENT.iter().any(|(v, _)| *v == var) {
                        missing.push(format!("{}: {var}", file.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }

    fn mmiodrv_lab_free_root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn files(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out
    }
}
