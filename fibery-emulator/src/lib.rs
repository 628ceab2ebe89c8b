//! A local emulator of the Fibery HTTP API.
