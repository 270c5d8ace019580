"""Nickname → canonical first name (normalised: lower case, no accents, letters only).

Both sides of a pair are mapped before comparing, so Bob/Robert/Rob/Bobby all meet at 'robert'.
"""
from __future__ import annotations

_GROUPS: dict[str, str] = {
    # English
    "robert": "bob bobby rob robbie bert", "william": "bill billy will willy liam",
    "elizabeth": "liz lizzie beth betty bess eliza elisabeth lisa libby", "james": "jim jimmy jamie",
    "michael": "mike mikey mick micky", "katherine": "kate katie kathy cathy catherine kathryn kat kitty",
    "richard": "rick ricky dick rich richie", "thomas": "tom tommy", "joseph": "joe joey",
    "charles": "charlie chuck chas", "edward": "ed eddie ted teddy ned", "margaret": "maggie meg peggy marge",
    "jennifer": "jen jenny", "christopher": "chris kit", "daniel": "dan danny", "matthew": "matt",
    "anthony": "tony", "andrew": "andy drew", "benjamin": "ben benny", "alexander": "alex sandy xander",
    "nicholas": "nick nicky", "jonathan": "jon jonny", "samuel": "sam sammy", "patrick": "pat paddy",
    "steven": "steve stephen stevie", "timothy": "tim timmy", "gregory": "greg", "jeffrey": "jeff geoffrey",
    "david": "dave davy", "kenneth": "ken kenny", "ronald": "ron ronnie", "donald": "don donnie",
    "lawrence": "larry laurence", "gerald": "gerry jerry", "raymond": "ray", "peter": "pete",
    "susan": "sue susie suzanne", "deborah": "debbie deb debra", "rebecca": "becky becca",
    "patricia": "pat patty trish tricia", "jessica": "jess jessie", "victoria": "vicky tori",
    "christine": "chris chrissy christina tina", "samantha": "sam sammy", "abigail": "abby",
    "alexandra": "alex sandra lexi", "barbara": "barb babs", "dorothy": "dot dottie", "kimberly": "kim",
    "pamela": "pam", "stephanie": "steph stephie steffi", "jacqueline": "jackie", "amanda": "mandy",
    "frederick": "fred freddie", "nathaniel": "nate nathan", "zachary": "zach zack", "leonard": "leo len lenny",
    "harold": "harry hal", "henry": "hank harry", "eleanor": "ellie nora", "madeline": "maddie",
    # German
    "johannes": "hans hannes johann jo", "josef": "sepp jupp joseph", "friedrich": "fritz",
    "nikolaus": "klaus niko", "ulrich": "uli", "katharina": "kathi katja kati", "wolfgang": "wolf",
    "matthias": "matze", "sebastian": "basti", "maximilian": "max", "franziska": "franzi",
    "gabriele": "gabi", "christian": "chris", "bernhard": "bernd", "heinrich": "heinz heiner",
    "juergen": "jurgen", "susanne": "susi", "alexandra_de": "sascha", "dominik": "dome",
    "wilhelm": "willi", "annemarie": "anne", "elisabeth_de": "elke", "barbara_de": "babsi",
    # French
    "jeanbaptiste": "jb", "francois": "franck", "guillaume": "guigui", "frederique": "fred",
    "christophe": "cricri", "dominique": "dom", "isabelle": "isa babette", "nathalie": "nath",
    "stephane": "steph", "valerie": "val", "veronique": "vero", "philippe": "phil",
}

NICKNAMES: dict[str, str] = {}
for canon, nicks in _GROUPS.items():
    canon = canon.split("_")[0]
    for nick in nicks.split():
        NICKNAMES.setdefault(nick, canon)
# a group's name can be another's nickname (joe -> joseph, joseph -> josef): every name goes to the end of its
# chain, so that all of them meet at one canonical name
for nick, canon in NICKNAMES.items():
    seen = {nick}
    while canon in NICKNAMES and canon not in seen:
        seen.add(canon)
        canon = NICKNAMES[canon]
    NICKNAMES[nick] = canon
