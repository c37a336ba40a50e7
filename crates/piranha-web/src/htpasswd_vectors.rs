/// (password, htpasswd line) pairs made by Debian apache2-utils htpasswd.
const VECTORS: &[(&str, &str)] = &[
    ("q", "piranha:UUbpcFCt5Qs/A"),
    ("q", "piranha:$apr1$2/OE59AN$tJ5yZ1M8N7WKASw8T3eYn/"),
    ("q", "piranha:{SHA}IuocZJyClGqm5Hnh/9Mh5KMYsbA="),
    (
        "q",
        "piranha:$2y$05$7fBh9y839JItSx45G9yy8O5WBPmHWyMEmtIKNREXRpkFkfs6s.AIy",
    ),
    ("q", "piranha:q"),
    ("correct horse", "piranha:Nn9e8/CvvXRgA"),
    (
        "correct horse",
        "piranha:$apr1$zMQtiOEp$2eXvk8SC79EGWVwTr2KVK1",
    ),
    ("correct horse", "piranha:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A="),
    (
        "correct horse",
        "piranha:$2y$05$mvNqSCz/p2b4Aty28YU2wuHB8H.sLPOyGktLLkROHbAPLQR8HpT.O",
    ),
    ("correct horse", "piranha:correct horse"),
    ("pä\\$\\$:w0rd", "piranha:cIftZsHoFVZUM"),
    (
        "pä\\$\\$:w0rd",
        "piranha:$apr1$mSXVkhHI$hk0nq4KyUJ/ah.LlNiagT1",
    ),
    ("pä\\$\\$:w0rd", "piranha:{SHA}98fYt2Vj7wcBH8OJ04FlUXvt7bw="),
    (
        "pä\\$\\$:w0rd",
        "piranha:$2y$05$zNQqAc6x3ECxInblXU7MlOhespvIkk5fvrrR/eLDHUsN0SZLBltOW",
    ),
    ("pä\\$\\$:w0rd", "piranha:pä\\$\\$:w0rd"),
];
