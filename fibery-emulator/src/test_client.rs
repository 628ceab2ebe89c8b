//! A client for this emulator in one call (feature `client`), so a test needs neither
//! `without_rate_limits()` here nor `requests_per_second(0)` on the client.

use crate::Emulator;

impl Emulator {
    /// A [`fibery_client::Client`] for this emulator, set up for tests: the emulator's first
    /// token, no client-side pacing, and the emulator's rate limiter switched off, so neither
    /// side waits. Tests about pacing configure both sides themselves.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use fibery_client::Query;
    /// let emu = fibery_emulator::Emulator::builder().token("t").start().await?;
    /// let client = emu.test_client();
    /// let me = client.query(&Query::from("fibery/user").select(["user/name"]).limit(1)).await?;
    /// assert_eq!(me[0]["user/name"], "Emulator User");
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// If the emulator accepts no token (it was built without
    /// [`token`](crate::EmulatorBuilder::token)).
    pub fn test_client(&self) -> fibery_client::Client {
        self.test_client_builder()
            .build()
            .expect("a loopback base URL and a token are a valid client configuration")
    }

    /// The builder behind [`test_client`](Self::test_client), for tests that change more
    /// (batching, retries, timeouts). Switches the emulator's rate limiter off, like it.
    ///
    /// # Panics
    ///
    /// As [`test_client`](Self::test_client).
    pub fn test_client_builder(&self) -> fibery_client::ClientBuilder {
        let token = self
            .shared
            .tokens
            .first()
            .expect("Emulator::test_client needs an emulator built with .token(..)");
        self.set_rate_limits(None);
        fibery_client::Client::builder()
            .base_url(self.base_url())
            .token(token.clone())
            .requests_per_second(0)
    }
}
