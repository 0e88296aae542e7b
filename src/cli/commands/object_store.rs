//! `berth object-store serve DIR --address HOST:PORT`: berth's own S3
//! server, which the native runtime runs for an `s3` service (hidden: not
//! a command for people). Its keys come from the environment (see
//! [`crate::object_store`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Subcommand;

use crate::error::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// Serve the objects kept in DIR until SIGTERM or SIGINT
    Serve {
        /// Where the objects are kept (made 0700 if missing)
        dir: PathBuf,
        /// Where to listen
        #[arg(long, value_name = "HOST:PORT")]
        address: SocketAddr,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.what {
        What::Serve { dir, address } => crate::object_store::serve(&dir, address),
    }
}
