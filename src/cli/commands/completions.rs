//! `berth completions SHELL`: a completion script, generated from the
//! command line's own definition, so it always knows every command and
//! option.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::args::Cli;
use crate::cli::output::emit;
use crate::error::Result;

#[derive(clap::Args)]
#[command(after_help = "Install, for example:
  bash:       berth completions bash > ~/.local/share/bash-completion/completions/berth
  zsh:        berth completions zsh > \"${fpath[1]}/_berth\"
  fish:       berth completions fish > ~/.config/fish/completions/berth.fish
  PowerShell: berth completions powershell >> $PROFILE
  elvish:     berth completions elvish >> ~/.config/elvish/rc.elv")]
pub struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish
    shell: Shell,
}

pub fn run(args: Args) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "berth", &mut script);
    emit(&script)
}
