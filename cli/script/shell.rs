//! `shell`: the script language interactively, with line editing, history
//! and completion of commands and register names.

use std::path::PathBuf;

use mmiodrv::command::Call;
use mmiodrv::error::{Error, Result};
use mmiodrv::session::Session;

use super::{help, line_tree, open, parse_line, report_error, run_line, Line};
use crate::cli::Global;
use crate::context::MapChoice;

/// `shell`.
pub fn shell(call: &mut Call<'_>) -> Result<()> {
    let g = Global::from_args(call.args)?;
    crate::context::stoppable()?;
    run(&g, &MapChoice::from_args(call.args))
}

/// The shell on the device `g` names.
pub fn run(g: &Global, choice: &MapChoice) -> Result<()> {
    use rustyline::error::ReadlineError;
    let (options, device) = open(g, choice)?;
    let session = Session::new(&device, options);
    let tree = line_tree();
    let names = completion_words(&session);
    // Completion as in bash: TAB completes the common prefix, a second TAB lists the candidates.
    let config = rustyline::Config::builder().completion_type(rustyline::CompletionType::List).build();
    let mut editor = rustyline::Editor::<Completer, rustyline::history::DefaultHistory>::with_config(config)
        .map_err(|e| Error::invalid("terminal", e.to_string()))?;
    editor.set_helper(Some(Completer { names }));
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let prompt = format!("mmiodrv {}> ", device.device());
    let mut n = 0;
    loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::invalid("terminal", e.to_string())),
        };
        n += 1;
        let _ = editor.add_history_entry(line.as_str());
        if matches!(line.trim(), "quit" | "exit") {
            break;
        }
        let result = parse_line(&line, &tree).and_then(|parsed| match parsed {
            Line::Request(r) => {
                let prepared = session.prepare(r.op)?;
                run_line(&session, g, &prepared, r.quiet)
            }
            Line::Help(path) => {
                help(&path);
                Ok(())
            }
            Line::Nothing => Ok(()),
        });
        crate::output::flush();
        if let Err(e) = result {
            report_error(g, &e, "shell", n);
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// `$MMIODRV_HISTORY`, else `$XDG_STATE_HOME/mmiodrv/history`, else
/// `~/.local/state/mmiodrv/history`.
fn history_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MMIODRV_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("mmiodrv/history"))
}

/// Commands, then register and REG.FIELD names of the session's map.
fn completion_words(session: &Session<'_>) -> Vec<String> {
    let mut words: Vec<String> = line_tree().iter().map(|c| c.name.to_string()).collect();
    words.extend(["help", "quit"].map(String::from));
    if let Some(map) = session.map() {
        for reg in map.registers.iter() {
            words.push(reg.name.to_string());
            words.extend(reg.fields.iter().map(|f| format!("{}.{}", reg.name, f.name)));
        }
    }
    words
}

/// Tab completion for the shell.
struct Completer {
    names: Vec<String>,
}

impl rustyline::completion::Completer for Completer {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let start = line[..pos].rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
        let prefix = &line[start..pos];
        let upper = prefix.to_ascii_uppercase();
        let mut hits: Vec<String> =
            self.names.iter().filter(|n| n.starts_with(prefix) || n.starts_with(&upper)).cloned().collect();
        hits.sort();
        hits.dedup();
        Ok((start, hits))
    }
}

impl rustyline::hint::Hinter for Completer {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completer {}
impl rustyline::validate::Validator for Completer {}
impl rustyline::Helper for Completer {}
