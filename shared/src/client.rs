//! How both sides count a client: by address, IPv4 as it is, IPv6 by its /64 (one
//! customer's network, which can hold as many addresses as it likes). The edge's
//! invalid-token and sign-in limiters and the origin's sign-in limits use this one rule.

use std::net::Ipv6Addr;

/// What the limiter counts a client by.
pub fn client_key(address: &str) -> String {
    match address.parse::<Ipv6Addr>() {
        // An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
        Ok(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:DB8:1:2::"), "2001:db8:1:2::/64");
        assert_ne!(client_key("2001:db8:1:3::1"), client_key("2001:db8:1:2::1"));
    }

    #[test]
    fn ipv4_clients_are_counted_by_address() {
        assert_eq!(client_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(client_key("unknown"), "unknown");
    }
}
