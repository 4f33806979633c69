//! Numeric replies by name: the three-digit codes a server answers with.
//!
//! Names and meanings follow the modern IRC client protocol (ircdocs.horse, "Numerics"), which
//! keeps RFC 1459/2812's names. Only the replies chatd may send are listed.

use core::fmt;

/// A three-digit reply code (`001`, `433`, …), always written zero-padded.
///
/// Made with [`Numeric::new`] or taken from the named constants in this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Numeric(u16);

impl Numeric {
    /// Return the numeric for `code`, or `None` if it does not fit in three digits.
    pub const fn new(code: u16) -> Option<Numeric> {
        if code <= 999 {
            Some(Numeric(code))
        } else {
            None
        }
    }

    /// Return the code as a number (`1` for `001`).
    pub const fn code(self) -> u16 {
        self.0
    }

    /// Return the three ASCII digits the code is written as on the wire.
    pub const fn digits(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100 % 10) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }

    /// Return the constant's name (`"RPL_WELCOME"`), for logs and tests, if this module has one.
    pub fn name(self) -> Option<&'static str> {
        name_of(self.0)
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

macro_rules! numerics {
    ($( $(#[doc = $doc:literal])+ $name:ident = $code:literal; )+) => {
        $( $(#[doc = $doc])+ pub const $name: Numeric = Numeric($code); )+

        fn name_of(code: u16) -> Option<&'static str> {
            match code {
                $( $code => Some(stringify!($name)), )+
                _ => None,
            }
        }

        #[cfg(test)]
        const ALL: &[Numeric] = &[$($name),+];
    };
}

numerics! {
    /// `001 nick :Welcome…`: registration succeeded; clients wait for it with their nick.
    RPL_WELCOME = 1;
    /// `002 nick :Your host is…`: the server's name and version.
    RPL_YOURHOST = 2;
    /// `003 nick :This server was created…`: when the server started.
    RPL_CREATED = 3;
    /// `004 nick server version usermodes chanmodes`: machine-readable server info.
    RPL_MYINFO = 4;
    /// `005 nick TOKEN… :are supported by this server`: ISUPPORT, what the server supports.
    RPL_ISUPPORT = 5;
    /// `221 nick modes`: the client's own user modes, answering `MODE nick`.
    RPL_UMODEIS = 221;
    /// `251 nick :There are N users…`: the LUSERS summary.
    RPL_LUSERCLIENT = 251;
    /// `252 nick N :operator(s) online`: operators online.
    RPL_LUSEROP = 252;
    /// `253 nick N :unknown connection(s)`: connections not yet registered.
    RPL_LUSERUNKNOWN = 253;
    /// `254 nick N :channels formed`: how many channels exist.
    RPL_LUSERCHANNELS = 254;
    /// `255 nick :I have N clients…`: clients on this server.
    RPL_LUSERME = 255;
    /// `301 nick target :message`: the target of a message or WHOIS is away.
    RPL_AWAY = 301;
    /// `302 nick :nick=+user@host …`: answers USERHOST.
    RPL_USERHOST = 302;
    /// `303 nick :nick …`: which of the nicks asked about with ISON are online.
    RPL_ISON = 303;
    /// `305 nick :You are no longer marked as being away`.
    RPL_UNAWAY = 305;
    /// `306 nick :You have been marked as being away`.
    RPL_NOWAWAY = 306;
    /// `311 nick target user host * :realname`: the first WHOIS line.
    RPL_WHOISUSER = 311;
    /// `312 nick target server :info`: which server the WHOIS target is on.
    RPL_WHOISSERVER = 312;
    /// `315 nick mask :End of WHO list`: ends a WHO reply.
    RPL_ENDOFWHO = 315;
    /// `317 nick target idle signon :seconds idle, signon time`: WHOIS idle time.
    RPL_WHOISIDLE = 317;
    /// `318 nick target :End of /WHOIS list`: ends a WHOIS reply.
    RPL_ENDOFWHOIS = 318;
    /// `319 nick target :channels`: the channels the WHOIS target is on.
    RPL_WHOISCHANNELS = 319;
    /// `321 nick Channel :Users  Name`: starts a LIST reply (obsolete but still sent).
    RPL_LISTSTART = 321;
    /// `322 nick channel count :topic`: one channel in a LIST reply.
    RPL_LIST = 322;
    /// `323 nick :End of /LIST`: ends a LIST reply.
    RPL_LISTEND = 323;
    /// `324 nick channel modes…`: the channel's modes, answering `MODE #channel`.
    RPL_CHANNELMODEIS = 324;
    /// `329 nick channel time`: when the channel was created.
    RPL_CREATIONTIME = 329;
    /// `331 nick channel :No topic is set`.
    RPL_NOTOPIC = 331;
    /// `332 nick channel :topic`: the channel's topic, sent on join and on TOPIC.
    RPL_TOPIC = 332;
    /// `333 nick channel setter time`: who set the topic and when.
    RPL_TOPICWHOTIME = 333;
    /// `352 nick channel user host server nick flags :hops realname`: one WHO line.
    RPL_WHOREPLY = 352;
    /// `353 nick = channel :names…`: members of a channel (NAMES, and on join).
    RPL_NAMREPLY = 353;
    /// `366 nick channel :End of /NAMES list`: ends a NAMES reply; clients open the window here.
    RPL_ENDOFNAMES = 366;
    /// `368 nick channel :End of channel ban list`: answers `MODE #channel b`.
    RPL_ENDOFBANLIST = 368;
    /// `372 nick :- text`: one line of the message of the day.
    RPL_MOTD = 372;
    /// `375 nick :- server Message of the day -`: starts the MOTD.
    RPL_MOTDSTART = 375;
    /// `376 nick :End of /MOTD command.`: ends the MOTD.
    RPL_ENDOFMOTD = 376;
    /// `401 nick target :No such nick/channel`.
    ERR_NOSUCHNICK = 401;
    /// `407 nick targets :Too many recipients`: more than one target (`MAXTARGETS=1`).
    ERR_TOOMANYTARGETS = 407;
    /// `403 nick channel :No such channel`.
    ERR_NOSUCHCHANNEL = 403;
    /// `404 nick channel :Cannot send to channel` (for instance after leaving it).
    ERR_CANNOTSENDTOCHAN = 404;
    /// `409 nick :No origin specified`: a PING or PONG without a token.
    ERR_NOORIGIN = 409;
    /// `410 nick subcommand :Invalid CAP command`.
    ERR_INVALIDCAPCMD = 410;
    /// `411 nick :No recipient given (COMMAND)`.
    ERR_NORECIPIENT = 411;
    /// `412 nick :No text to send`.
    ERR_NOTEXTTOSEND = 412;
    /// `417 nick :Input line was too long`.
    ERR_INPUTTOOLONG = 417;
    /// `421 nick command :Unknown command`.
    ERR_UNKNOWNCOMMAND = 421;
    /// `422 nick :MOTD File is missing`: sent instead of a MOTD.
    ERR_NOMOTD = 422;
    /// `431 nick :No nickname given`.
    ERR_NONICKNAMEGIVEN = 431;
    /// `432 nick badnick :Erroneous nickname`.
    ERR_ERRONEUSNICKNAME = 432;
    /// `433 nick badnick :Nickname is already in use`.
    ERR_NICKNAMEINUSE = 433;
    /// `442 nick channel :You're not on that channel`.
    ERR_NOTONCHANNEL = 442;
    /// `451 nick :You have not registered`; releases irssi's wait for CAP LS.
    ERR_NOTREGISTERED = 451;
    /// `461 nick command :Not enough parameters`.
    ERR_NEEDMOREPARAMS = 461;
    /// `462 nick :You may not reregister`.
    ERR_ALREADYREGISTERED = 462;
    /// `464 nick :Password incorrect`.
    ERR_PASSWDMISMATCH = 464;
    /// `465 nick :You are banned from this server` (used for the password throttle).
    ERR_YOUREBANNEDCREEP = 465;
    /// `472 nick char :is unknown mode char to me`.
    ERR_UNKNOWNMODE = 472;
    /// `481 nick :Permission Denied- You're not an IRC operator`.
    ERR_NOPRIVILEGES = 481;
    /// `482 nick channel :You're not channel operator`.
    ERR_CHANOPRIVSNEEDED = 482;
    /// `501 nick :Unknown MODE flag`.
    ERR_UMODEUNKNOWNFLAG = 501;
    /// `502 nick :Cant change mode for other users`.
    ERR_USERSDONTMATCH = 502;
}

#[cfg(test)]
mod test {
    use super::*;
    use std::string::ToString;

    #[test]
    fn numerics_are_written_with_three_digits() {
        assert_eq!(RPL_WELCOME.to_string(), "001");
        assert_eq!(RPL_WELCOME.digits(), *b"001");
        assert_eq!(RPL_UMODEIS.to_string(), "221");
        assert_eq!(ERR_NICKNAMEINUSE.digits(), *b"433");
        assert_eq!(
            Numeric::new(42).map(|n| n.to_string()).as_deref(),
            Some("042")
        );
        assert_eq!(Numeric::new(999).map(|n| n.digits()), Some(*b"999"));
        assert_eq!(Numeric::new(1000), None);
    }

    #[test]
    fn every_constant_has_its_own_code_and_name() {
        for (i, n) in ALL.iter().enumerate() {
            assert!(n.code() <= 999);
            assert!(ALL[i + 1..].iter().all(|m| m != n), "{n} twice");
            let name = n.name().unwrap_or("");
            assert!(
                name.starts_with("RPL_") || name.starts_with("ERR_"),
                "{n}: {name}"
            );
        }
        assert_eq!(ERR_NOTREGISTERED.name(), Some("ERR_NOTREGISTERED"));
        assert_eq!(Numeric::new(265).and_then(Numeric::name), None);
    }
}
