//! The relay's floor, measured (issue #20, item 4): relays `GET <path>` from a plain-HTTP
//! upstream to each client that connects, either through a user-space buffer (`copy`, what any
//! proxy that reads the body does) or with `splice(2)` through a pipe (`splice`, the bytes never
//! enter this process). Prints its own CPU time per GB after each response, so the two ways can
//! be compared with skiff-proxy on the same blobs. Linux only; not part of the proxy.
//!
//! `cargo run --release --example relay_floor -- copy|splice 127.0.0.1:PORT UPSTREAM_HOST:PORT`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, listen, upstream] = args.as_slice() else {
        eprintln!("usage: relay_floor copy|splice LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(listen).expect("bind");
    for client in listener.incoming() {
        let mut client = client.expect("accept");
        let before = cpu_seconds();
        let path = request_path(&mut client);
        let mut upstream = TcpStream::connect(upstream).expect("connect upstream");
        write!(
            upstream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            upstream.peer_addr().unwrap()
        )
        .unwrap();
        let (head, early) = response_head(&mut upstream);
        client.write_all(&head).unwrap();
        client.write_all(&early).unwrap();
        let body = early.len() as u64
            + match mode.as_str() {
                "splice" => relay_splice(&upstream, &client),
                _ => relay_copy(&mut upstream, &mut client),
            };
        let spent = cpu_seconds();
        let gb = body as f64 / 1e9;
        println!(
            "{mode}: {body} bytes, user {:.3} sys {:.3} CPU-s per GB",
            (spent.0 - before.0) / gb,
            (spent.1 - before.1) / gb
        );
    }
}

/// The path of the client's request line; the rest of its head is read and ignored.
fn request_path(client: &mut TcpStream) -> String {
    let (head, _) = response_head(client);
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1).unwrap_or("/").to_owned()
}

/// Reads up to the blank line; returns the head and whatever body bytes came with it.
fn response_head(stream: &mut TcpStream) -> (Vec<u8>, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before the head ended");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let early = buffer.split_off(end + 4);
            return (buffer, early);
        }
    }
}

fn relay_copy(from: &mut TcpStream, to: &mut TcpStream) -> u64 {
    let mut buffer = vec![0u8; 512 * 1024];
    let mut total = 0;
    loop {
        let n = from.read(&mut buffer).unwrap();
        if n == 0 {
            return total;
        }
        to.write_all(&buffer[..n]).unwrap();
        total += n as u64;
    }
}

fn relay_splice(from: &TcpStream, to: &TcpStream) -> u64 {
    let mut pipe = [0i32; 2];
    // SAFETY: a two-element array for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // A pipe of 1 MiB: fewer calls per GB.
    // SAFETY: fcntl on the pipe just made.
    unsafe { libc::fcntl(pipe[1], libc::F_SETPIPE_SZ, 1 << 20) };
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE;
    let mut total = 0u64;
    loop {
        // SAFETY: valid descriptors owned by this function and the streams; null offsets.
        let n = unsafe {
            libc::splice(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                pipe[1],
                std::ptr::null_mut(),
                1 << 20,
                flags,
            )
        };
        assert!(n >= 0, "splice in: {}", std::io::Error::last_os_error());
        if n == 0 {
            break;
        }
        let mut left = n as usize;
        while left > 0 {
            // SAFETY: as above.
            let m = unsafe {
                libc::splice(
                    pipe[0],
                    std::ptr::null_mut(),
                    to.as_raw_fd(),
                    std::ptr::null_mut(),
                    left,
                    flags,
                )
            };
            assert!(m > 0, "splice out: {}", std::io::Error::last_os_error());
            left -= m as usize;
        }
        total += n as u64;
    }
    // SAFETY: closing the pipe this function opened.
    unsafe {
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    total
}

/// This process's (user, system) CPU seconds so far.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (seconds(usage.ru_utime), seconds(usage.ru_stime))
}
