//! The event streams' bounds: `STREAM_PING_SECS`, `STREAM_IDLE_SECS`, `STREAMS_MAX`,
//! `STREAMS_PER_PERSON` and `STREAM_BUFFER`.

use std::time::Duration;

use super::ConfigError;
use crate::streams::StreamSettings;

/// The one reader of the stream settings; each unset one takes its default.
pub fn streams(get: impl Fn(&str) -> Option<String>) -> Result<StreamSettings, ConfigError> {
    let defaults = StreamSettings::default();
    let number =
        |name: &'static str, range: std::ops::RangeInclusive<u64>, default: u64| match get(name)
            .filter(|v| !v.trim().is_empty())
        {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ConfigError::Rule(
                        name,
                        format!(
                            "must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ),
                    )
                }),
        };
    let ping = number("STREAM_PING_SECS", 1..=300, defaults.ping.as_secs())?;
    let idle = number("STREAM_IDLE_SECS", 2..=3600, defaults.idle.as_secs())?;
    if idle <= ping {
        return Err(ConfigError::Rule(
            "STREAM_IDLE_SECS",
            "must be longer than STREAM_PING_SECS: a live client answers every ping".to_owned(),
        ));
    }
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(StreamSettings {
        ping: Duration::from_secs(ping),
        idle: Duration::from_secs(idle),
        max_total: size(number(
            "STREAMS_MAX",
            1..=1_000_000,
            defaults.max_total as u64,
        )?),
        max_per_person: size(number(
            "STREAMS_PER_PERSON",
            1..=1_000_000,
            defaults.max_per_person as u64,
        )?),
        buffer: size(number("STREAM_BUFFER", 1..=65_536, defaults.buffer as u64)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<StreamSettings, ConfigError> {
        streams(|name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn unset_is_the_default_and_each_is_bounded() {
        let d = read(&[]).unwrap();
        assert_eq!(
            (d.ping, d.idle, d.max_total, d.max_per_person, d.buffer),
            (
                Duration::from_secs(30),
                Duration::from_secs(90),
                10_000,
                1_000,
                256
            )
        );
        let set = read(&[
            ("STREAM_PING_SECS", "2"),
            ("STREAM_IDLE_SECS", "5"),
            ("STREAMS_MAX", "3"),
        ])
        .unwrap();
        assert_eq!(
            (set.ping.as_secs(), set.idle.as_secs(), set.max_total),
            (2, 5, 3)
        );
        for bad in [
            ("STREAMS_MAX", "0"),
            ("STREAMS_PER_PERSON", "0"),
            ("STREAM_BUFFER", "x"),
            ("STREAM_PING_SECS", "301"),
        ] {
            let e = read(&[bad]).unwrap_err().to_string();
            assert!(e.starts_with(bad.0) && e.contains("whole number"), "{e}");
        }
        let e = read(&[("STREAM_PING_SECS", "60"), ("STREAM_IDLE_SECS", "60")]).unwrap_err();
        assert!(
            e.to_string().contains("longer than STREAM_PING_SECS"),
            "{e}"
        );
    }
}
