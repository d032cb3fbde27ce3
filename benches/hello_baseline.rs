//! The baseline of the HTTP benchmarks: an actix-web "hello world" on the same machine, run
//! in the same session as the measured server (`benches/search.sh` starts it).
//!
//!     cargo bench --bench hello_baseline -- 127.0.0.1:18282

use actix_web::{App, HttpResponse, HttpServer, web};

fn main() -> std::io::Result<()> {
    // `cargo bench` passes `--bench`; the address is the first other argument.
    let address = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "127.0.0.1:18282".to_owned());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("Hello world!") }),
            )
        })
        .workers(2)
        .bind(address)?
        .run()
        .await
    })
}
