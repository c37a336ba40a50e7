//! Gratuitous ARP and IPv6 unsolicited neighbour advertisements.
//!
//! Owns building those frames and sending them on an AF_PACKET socket.
//! It decides nothing about when to send: pulse does.
