//! The interactive screen: received lines scroll up, the input line stays at the bottom.
//!
//! A received line is printed by clearing the input line, printing the line, and drawing the
//! prompt and the text typed so far again, so nothing the user types is ever garbled. The
//! input line is the editor's text after the prompt, or, while a Ctrl-R search or a paste
//! confirmation is under way, that question instead ([`Mode`]).

use std::io::{self, Write};

use crate::editor::{str_width, Editor};
use crate::recall::Search;
use crate::render::Style;
use crate::sanitize::clean;
use crate::terminal;

/// What the input line is doing.
#[derive(Debug, Default)]
pub enum Mode {
    /// Editing a line.
    #[default]
    Edit,
    /// Searching back through the lines typed (Ctrl-R).
    Search(Search),
    /// Asking whether to send these pasted lines.
    ConfirmPaste(Vec<String>),
}

/// The screen: the editor, what is drawn, and how.
pub struct Screen {
    /// The line being typed.
    pub editor: Editor,
    /// What the input line is doing.
    pub mode: Mode,
    /// How lines look.
    pub style: Style,
    /// The user's name, for the prompt.
    pub me: String,
    /// False while reconnecting (the prompt says so).
    pub online: bool,
    out: io::Stdout,
}

impl Screen {
    /// Make a screen for the user named `me`.
    pub fn new(style: Style, me: &str) -> Screen {
        Screen {
            editor: Editor::default(),
            mode: Mode::Edit,
            style,
            me: me.to_string(),
            online: true,
            out: io::stdout(),
        }
    }

    /// Return the prompt shown before the input line.
    fn prompt(&self) -> String {
        let name = clean(&self.me);
        match &self.mode {
            Mode::Edit if self.online => format!("{name}> "),
            Mode::Edit => format!("(offline) {name}> "),
            Mode::Search(s) => {
                let failed = if s.found.is_none() { "failed " } else { "" };
                format!("({failed}search '{}') ", clean(&s.query))
            }
            Mode::ConfirmPaste(lines) => {
                format!("Send {} pasted lines? (y/n) ", lines.len())
            }
        }
    }

    /// Return the bytes that draw the input line and put the cursor in place.
    fn input_line(&self) -> String {
        let prompt = self.prompt();
        let pw = str_width(&prompt);
        let room = terminal::width().saturating_sub(pw + 1);
        let (text, col) = match &self.mode {
            Mode::Edit => self.editor.view(room),
            Mode::Search(s) => {
                let mut found = Editor::default();
                found.set(&s.found.as_ref().map_or(String::new(), |f| clean(&f.1)));
                found.view(room)
            }
            Mode::ConfirmPaste(_) => (String::new(), 0),
        };
        let mut s = format!("\r\x1b[K{prompt}{text}\r");
        if pw + col > 0 {
            s.push_str(&format!("\x1b[{}C", pw + col));
        }
        s
    }

    /// Draw the input line again.
    pub fn redraw(&mut self) -> io::Result<()> {
        let s = self.input_line();
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Print a line above the input line.
    pub fn show(&mut self, line: &str) -> io::Result<()> {
        self.show_with(line, "")
    }

    /// Print a line above the input line, then `extra` (a bell, a notification escape).
    pub fn show_with(&mut self, line: &str, extra: &str) -> io::Result<()> {
        let s = format!("\r\x1b[K{line}\r\n{extra}{}", self.input_line());
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Clear the input line (before leaving or stopping).
    pub fn clear(&mut self) -> io::Result<()> {
        self.out.write_all(b"\r\x1b[K")?;
        self.out.flush()
    }
}
