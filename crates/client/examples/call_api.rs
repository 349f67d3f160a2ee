//! Calls an API through the gateway with a token from the local `gatehouse agent`.
//!
//! ```text
//! env $(cat identity.env) cargo run -p gatehouse-client --example call_api -- \
//!     https://orders.example http://127.0.0.1:8080/orders/42
//! ```
//! Prints the status and the body. The application holds no secret: the agent does.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(audience), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: call_api AUDIENCE URL (with the agent's env file in the environment)");
        std::process::exit(64);
    };
    let tokens = gatehouse_client::TokenSource::from_agent_env()?;
    let http = reqwest::Client::new();
    let resp = tokens
        .authorize(http.get(&url), &audience)
        .await?
        .send()
        .await?;
    println!("{}", resp.status());
    println!("{}", resp.text().await?);
    Ok(())
}
