//! A plain Rust program (std only, no dwe SDK). Everything it does goes through WASI
//! preview1, which dwe journals: clock, randomness, sleep, file appends, stdout.
//!
//! Usage: rust-std <file> [n=5]
//! For i in 0..n: reads the clock, sleeps 50 ms, appends `i <i> t <millis>` to <file>,
//! prints `step <i>`. Finally prints `done <n> sum <sum of the millis written>`.

use std::collections::hash_map::RandomState;
use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = match args.get(1) {
        Some(p) => p.clone(),
        None => {
            eprintln!("usage: rust-std <file> [n]");
            std::process::exit(2);
        }
    };
    let n: u64 = match args.get(2) {
        None => 5,
        Some(s) => match s.parse() {
            Ok(n) => n,
            Err(_) => {
                eprintln!("rust-std: n must be a non-negative integer, got {:?}", s);
                std::process::exit(2);
            }
        },
    };

    // std has no public random API; RandomState seeds its keys with WASI random_get.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(n);
    println!("seed {:016x}", h.finish());

    let mut sum: u64 = 0;
    for i in 0..n {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970").as_millis() as u64;
        std::thread::sleep(Duration::from_millis(50));
        let mut f = match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("rust-std: cannot open {}: {}", path, e);
                std::process::exit(1);
            }
        };
        if let Err(e) = writeln!(f, "i {} t {}", i, t) {
            eprintln!("rust-std: cannot write {}: {}", path, e);
            std::process::exit(1);
        }
        sum += t;
        println!("step {}", i);
    }
    println!("done {} sum {}", n, sum);
}
