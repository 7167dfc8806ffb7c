#!/usr/bin/python3
"""Writes common_passwords.txt: passwords people pick most, as patterns of the well-known lists.

Built from patterns (common words and names, years, digit runs, keyboard walks, leet
substitutions, repetitions), not downloaded. Only entries of 12 or more characters are kept,
since shorter passwords fail the length rule anyway. One lower-case entry a line; the check
compares ignoring ASCII case.

Usage: generate_common_passwords.py > common_passwords.txt
"""
import itertools

WORDS = """
password passw0rd p@ssword p@ssw0rd qwerty letmein welcome iloveyou admin administrator
monkey dragon football baseball basketball soccer hockey sunshine princess shadow master
superman batman spiderman trustno1 starwars whatever michael jennifer charlie jordan
hunter2 freedom flower hello secret summer winter autumn spring love lovely loveme
mustang access killer pepper ginger cookie cheese chocolate butterfly purple orange
yellow silver golden diamond angel angels jesus christ blessed heaven forever family
friends friend computer internet google facebook instagram twitter linkedin microsoft
apple samsung nintendo playstation xbox pokemon minecraft fortnite liverpool arsenal
chelsea barcelona realmadrid juventus manchester united yankees cowboys steelers
eagles lakers warriors tigers lions bears panther panthers thunder matrix merlin
wizard harley ferrari porsche mercedes corvette camaro tequila whiskey guitar music
rockstar london paris berlin newyork chicago texas florida california canada america
changeme default temp temporary guest user test tester testing login logon
welcome1 monday tuesday friday sunday january february december august october
mother father sister brother daughter babygirl babyboy sweetheart honey darling
jessica ashley amanda daniel andrew joshua matthew david james robert thomas
william richard joseph anthony christopher nicole michelle elizabeth samantha
melissa stephanie jasmine natasha victoria alexander benjamin nicholas jonathan
zaq1zaq1 qazwsx qwerty123 asdfgh zxcvbn abc123 iloveu trustme letmein123 master123
superstar superhero starlight moonlight sunflower rainbow unicorn dolphin tiger
elephant kitten puppy doggie snoopy garfield scooby tweety mickey minnie
""".split()

SUFFIXES = [
    "", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789",
    "!", "!!", "1!", "12!", "123!", "1234!", "@123", "#1", "01", "007", "69", "99", "2000",
    "111", "000", "321", "4321", "54321", "123123", "_123", ".123", "@1", "$", "11", "22",
] + [str(y) for y in range(1980, 2027)] + [str(y) + "!" for y in range(2018, 2027)]

PREFIXES = ["", "my", "i"]
SHORT_SUFFIXES = ["", "1", "123", "1234", "!", "123!", "2024", "2025"]

WALKS = """
qwertyuiop qwertyuiop123 qwertyuiop1234 qwertyuiop[] qwertyuiopasdfghjkl asdfghjkl123
asdfghjkl1234 asdfghjkl;' zxcvbnm123456 zxcvbnm,./123 1qaz2wsx3edc 1qaz2wsx3edc4rfv
!qaz@wsx#edc zaq12wsxcde3 qazwsxedcrfv qazwsxedc123 1q2w3e4r5t6y 1q2w3e4r5t6y7u8i
q1w2e3r4t5y6 a1s2d3f4g5h6 qweasdzxc123 qweasdzxcqwe poiuytrewq123 mnbvcxz12345
1234qwerasdf 1234qwerasdfzxcv qwer1234asdf asdf1234qwer zxcvasdfqwer 147258369147
159357159357 741852963741 789456123789 963852741963 0987654321qwerty
""".split()

PHRASES = """
iloveyouforever iloveyousomuch iloveyoubaby letmeinplease letmeinnow changemenow
changemeplease correcthorsebatterystaple passwordpassword password1234567 mypassword123
thisismypassword thisisapassword thisisatest welcometomyworld welcomehome123 secretpassword
supersecretpassword topsecretpassword nopasswordhere idontknow123 whatismypassword
forgotmypassword ihateyouall godisgood123 jesuslovesme jesusismylord iamthegreatest
youcantguessit tryandguessme administrator1 administrator123 rootpassword123 adminadmin123
adminpassword123 defaultpassword temppassword123 guestpassword123 testpassword123
qwertyqwertyqwerty abcdefghijkl abcdefghijklmnop abcdefg12345 abcd1234abcd1234
aaaaaa111111 abc123abc123 abcabcabcabc passw0rdpassw0rd p@ssw0rd1234 p@55w0rd1234
""".split()

LEET = {"a": "@", "o": "0", "e": "3", "s": "$", "i": "1"}


def leet_variants(word):
    """The word with each subset of its leet-substitutable letters replaced (at most 8)."""
    positions = [i for i, c in enumerate(word) if c in LEET][:3]
    out = []
    for r in range(1, len(positions) + 1):
        for combo in itertools.combinations(positions, r):
            chars = list(word)
            for i in combo:
                chars[i] = LEET[chars[i]]
            out.append("".join(chars))
    return out


def main():
    entries = set()
    for word in WORDS:
        for suffix in SUFFIXES:
            entries.add(word + suffix)
        for prefix in PREFIXES:
            for suffix in SHORT_SUFFIXES:
                entries.add(prefix + word + suffix)
        entries.add(word * 2)
        entries.add(word * 3)
        for variant in leet_variants(word):
            for suffix in SHORT_SUFFIXES:
                entries.add(variant + suffix)
    for a, b in itertools.product(WORDS[:40], repeat=2):
        if a != b:
            entries.add(a + b)
    entries.update(WALKS)
    entries.update(PHRASES)
    for phrase in PHRASES:
        for suffix in ("1", "123", "!", "2024"):
            entries.add(phrase + suffix)
    digits = "12345678901234567890"
    for start in range(10):
        for length in range(12, 17):
            entries.add(digits[start:start + length])
            entries.add(digits[::-1][start:start + length])
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789!":
        for length in range(12, 21):
            entries.add(ch * length)
    for unit in ("12", "123", "1234", "abc", "ab", "01", "69", "007", "xo", "ha", "lol"):
        for length in range(12, 21):
            entries.add((unit * length)[:length])
    kept = sorted(e for e in entries if 12 <= len(e) <= 128)
    for entry in kept:
        print(entry)


if __name__ == "__main__":
    main()
