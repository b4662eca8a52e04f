//! An in-process TCP proxy between the service and the broker, so tests can
//! cut, refuse or blackhole the connection without touching the shared
//! broker (toxiproxy is not available here; shared/reference/rabbitmq.md §5.1).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
struct Switches {
    refuse: AtomicBool,
    /// While true, bytes are held (not read on, not dropped): a network
    /// partition, where TCP keeps the stream intact and the peers only
    /// notice through missing heartbeats and timeouts.
    blackhole: watch::Sender<bool>,
    cut: watch::Sender<u64>,
}

/// A running proxy; dropped or `stop`ped, it closes everything.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    switches: Arc<Switches>,
    stop: CancellationToken,
}

impl TcpProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(0);
        let switches = Arc::new(Switches {
            refuse: AtomicBool::new(false),
            blackhole: watch::Sender::new(false),
            cut,
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            upstream,
            switches.clone(),
            stop.clone(),
        ));
        Ok(TcpProxy {
            addr,
            switches,
            stop,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection (like a broker restart or a reset).
    pub fn cut_all(&self) {
        self.switches.cut.send_modify(|g| *g += 1);
    }

    /// While set, new connections are closed as soon as they are accepted.
    pub fn refuse(&self, on: bool) {
        self.switches.refuse.store(on, Ordering::SeqCst);
    }

    /// While set, bytes in both directions are held back (a partition).
    pub fn blackhole(&self, on: bool) {
        self.switches.blackhole.send_replace(on);
    }

    pub fn stop(&self) {
        self.stop.cancel();
        self.cut_all();
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    s: Arc<Switches>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((client, _)) = accepted else { continue };
        if s.refuse.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(server) = TcpStream::connect(upstream).await else {
            continue;
        };
        let mut cut = s.cut.subscribe();
        let s = s.clone();
        tokio::spawn(async move {
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::select! {
                _ = cut.changed() => {}
                () = pump(cr, sw, &s) => {}
                () = pump(sr, cw, &s) => {}
            }
        });
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    s: &Switches,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut held = s.blackhole.subscribe();
        while *held.borrow_and_update() {
            if held.changed().await.is_err() {
                return;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
