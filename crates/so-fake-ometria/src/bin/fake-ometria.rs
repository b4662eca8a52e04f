//! `fake-ometria`: the fake Ometria Data API as a process of its own, for
//! local demos (`scripts/run`, the compose file). Test support, never part of
//! the product binary.

use std::net::SocketAddr;
use std::process::ExitCode;

use so_fake_ometria::{FakeConfig, RateLimit};

const USAGE: &str = "usage: fake-ometria [--listen ADDR] [--api-key KEY] [--rate N]
  --listen ADDR   listen address (default 127.0.0.1:8099)
  --api-key KEY   the X-Ometria-Auth key it accepts (default fake-ometria-key)
  --rate N        requests per second before 429 (default 4; 0 = unlimited)";

struct Args {
    listen: SocketAddr,
    api_key: String,
    rate: f64,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8099)),
        api_key: FakeConfig::default().api_key,
        rate: 4.0,
    };
    while let Some(flag) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                args.listen = v
                    .parse()
                    .map_err(|_| format!("--listen: not an address: {v}"))?;
            }
            "--api-key" => args.api_key = value("--api-key")?,
            "--rate" => {
                let v = value("--rate")?;
                args.rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .ok_or(format!("--rate: not a non-negative number: {v}"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut config = FakeConfig {
        api_key: args.api_key,
        ..FakeConfig::default()
    };
    config.rate_limit = if args.rate > 0.0 {
        RateLimit::PerSecond {
            rate: args.rate,
            burst: args.rate.ceil().max(1.0) as u32,
        }
    } else {
        RateLimit::Unlimited
    };
    eprintln!(
        "fake Ometria on http://{} (X-Ometria-Auth: {})",
        args.listen, config.api_key
    );
    match so_fake_ometria::serve(args.listen, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: serving the fake Ometria on {}: {e}", args.listen);
            ExitCode::FAILURE
        }
    }
}
