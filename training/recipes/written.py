"""Comments we write ourselves, for what the public sets teach badly or not at all.

The public sets teach that naming a group is hostile (most texts that name one attack it), that
quoting an insult is insulting, and that a negated insult is one. These templates give the
model the other side: calm and friendly statements about many groups, counter-speech and
quotation to condemn, negated hostility, everyday complaints that use mildly negative words,
and a few hostile patterns the public sets under-represent (exclusion, dehumanisation, veiled
threats, likening a person to Nazis).

Generated from a fixed seed, so every training run sees the same examples. They are training
data only: the model's behaviour on such cases is measured by the functional suite in
``bench/functional.py``, whose cases are written separately and share no template with these.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from moderation.labelled import Example, LoadReport
from moderation.labels import DEFAULT_LABELS, HOSTILITY, PROPAGANDA
from training.recipes.base import DatasetRecipe

T = TypeVar("T")

NAME = "written"
SEED = 20261202
PER_KIND = 450

# (adjective, plural noun) for groups people are attacked for.
GROUPS: tuple[tuple[str, str], ...] = (
    ("Muslim", "Muslims"), ("Jewish", "Jewish people"), ("Christian", "Christians"),
    ("Hindu", "Hindus"), ("Sikh", "Sikhs"), ("Buddhist", "Buddhists"), ("atheist", "atheists"),
    ("Catholic", "Catholics"), ("Black", "Black people"), ("white", "white people"),
    ("Asian", "Asian people"), ("Latino", "Latinos"), ("Hispanic", "Hispanic people"),
    ("Arab", "Arabs"), ("Indigenous", "Indigenous people"), ("Roma", "Roma people"),
    ("immigrant", "immigrants"), ("refugee", "refugees"), ("gay", "gay people"),
    ("lesbian", "lesbians"), ("bisexual", "bisexual people"), ("transgender", "trans people"),
    ("queer", "queer people"), ("nonbinary", "nonbinary people"), ("disabled", "disabled people"),
    ("deaf", "deaf people"), ("blind", "blind people"), ("autistic", "autistic people"),
    ("Mexican", "Mexicans"), ("Chinese", "Chinese people"), ("Indian", "Indians"),
    ("Nigerian", "Nigerians"), ("Polish", "Poles"), ("Somali", "Somalis"),
    ("Pakistani", "Pakistanis"), ("Ukrainian", "Ukrainians"), ("Filipino", "Filipinos"),
    ("Haitian", "Haitians"), ("elderly", "older people"), ("female", "women"),
)
ROLES = ("teacher", "nurse", "bus driver", "shop owner", "student", "pensioner", "engineer",
         "volunteer", "firefighter", "farmer", "parent", "carpenter", "librarian", "doctor")
GOOD_DEEDS = ("cleared our drive after the snow", "brought soup when we were ill",
              "fixed the fence without being asked", "run the best bakery in town",
              "organised the litter pick on Sunday", "watched our cat all summer",
              "helped us move the piano", "coach the under-tens every Saturday",
              "lent us their ladder for the gutters", "welcomed us when we arrived")
LOCAL_TOPICS = ("the bridge repairs", "the new cycle lane", "the library hours", "the bus timetable",
                "the parking charges", "the school catchment plan", "the park renovation",
                "the ferry budget", "the market move", "the recycling schedule")
OPINIONS = ("agree with the council", "think the plan needs another look",
            "support the proposal", "would like the meeting recorded",
            "think the cost estimate is too low", "am glad this finally got reported")
PLACES = ("street", "valley", "town", "neighbourhood", "city", "county")
SPANS_OF_TIME = ("a century", "three generations", "over fifty years", "as long as anyone remembers",
                 "since the mill opened")

INSULTS = ("idiot", "moron", "clown", "imbecile", "fool", "loser", "halfwit", "dimwit", "cretin",
           "buffoon", "numpty", "twit", "dunce", "jerk", "nitwit")
INSULT_ADJECTIVES = ("stupid", "pathetic", "brainless", "worthless", "clueless", "dumb", "ignorant")
DEHUMANISING = ("vermin", "animals", "parasites", "cockroaches", "a disease", "rats", "savages")
NAZI_FIGURES = ("Goebbels", "Hitler", "the Nazis", "Himmler", "a Nazi propagandist")

MILD_COMPLAINTS = (
    ("The path by the river", "muddy", "fine with boots"),
    ("The detour", "long", "the new road should help"),
    ("The concert", "loud", "the kids loved it"),
    ("The market", "crowded", "worth the trip"),
    ("The museum cafe", "expensive", "the cakes are good"),
    ("The meeting", "boring", "useful in the end"),
    ("The train", "late again", "the staff were helpful"),
    ("The beach", "cold", "lovely for a walk"),
    ("The new estate", "noisy during the building work", "it looks smart now"),
    ("The hall", "dark", "the new lights are coming"),
    ("The queue at the clinic", "slow", "the nurses were kind"),
    ("The festival field", "wet", "everyone had fun"),
    ("The roadworks", "annoying", "they finished early"),
    ("The ferry", "delayed by fog", "the crossing was smooth"),
    ("The council website", "confusing", "the phone line sorted it"),
    ("The new bins", "ugly", "they do keep the foxes out"),
    ("The car park", "full by nine", "the park and ride works"),
    ("The pool", "freezing", "the kids did not care"),
    ("The storm", "scary", "nobody was hurt"),
    ("The hill", "steep", "the view is worth it"),
)


def load(folder: Path | None = None, report: LoadReport | None = None) -> list[Example]:
    """Every written example, the same on every call."""
    report = report or LoadReport()
    rng = random.Random(SEED)
    examples: list[Example] = []
    seen: set[str] = set()
    for kind, make, labels in KINDS:
        made = 0
        for _ in range(PER_KIND * 4):
            if made >= PER_KIND:
                break
            text = make(rng)
            if text in seen:  # templates repeat themselves: draw again
                continue
            seen.add(text)
            report.rows += 1
            examples.append(Example(text, dict(labels), source=NAME))
            made += 1
    return examples


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    return options[rng.randrange(len(options))]


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _calm_identity(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    form = rng.randrange(7)
    if form == 0:
        return f"My neighbours are a {adj} family and they {_pick(rng, GOOD_DEEDS)}."
    if form == 1:
        return f"I am a {adj} {_pick(rng, ROLES)} and I {_pick(rng, OPINIONS)}."
    if form == 2:
        return f"{plural[0].upper()}{plural[1:]} have lived in this {_pick(rng, PLACES)} for {_pick(rng, SPANS_OF_TIME)}."
    if form == 3:
        return f"As a {adj} {_pick(rng, ROLES)}, I have a question about {_pick(rng, LOCAL_TOPICS)}."
    if form == 4:
        return f"The {adj} community centre is open late on {_pick(rng, ('Mondays', 'Fridays', 'weekends'))} now."
    if form == 5:
        return f"Our {_pick(rng, ROLES)} is {adj} and everyone in the {_pick(rng, PLACES)} knows her."
    return f"The article should have quoted some of the {plural} affected by {_pick(rng, LOCAL_TOPICS)}."


def _positive_identity(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    form = rng.randrange(5)
    if form == 0:
        return f"{plural[0].upper()}{plural[1:]} have made this {_pick(rng, PLACES)} a better place."
    if form == 1:
        return f"So proud of the {adj} students who won the regional science prize."
    if form == 2:
        return f"The {adj} families on our road are the kindest people I know."
    if form == 3:
        return f"{plural[0].upper()}{plural[1:]} deserve the same respect as anyone else here."
    return f"Lovely to see {plural} and everyone else celebrating together at the fair."


def _counter_speech(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    who = _pick(rng, ("He", "She", "The councillor", "A commenter above", "That columnist"))
    insult = _pick(rng, INSULT_ADJECTIVES + INSULTS)
    form = rng.randrange(6)
    if form == 0:
        return (f"{who} wrote that {plural} are {_pick(rng, INSULT_ADJECTIVES)}. That is "
                f"{_pick(rng, ('disgusting', 'shameful', 'wrong', 'unacceptable'))} and "
                f"{_pick(rng, ('an apology is owed', 'it should be retracted', 'nobody should repeat it'))}.")
    if form == 1:
        return f"Calling {plural} {_pick(rng, DEHUMANISING)} is not acceptable on this site or anywhere."
    if form == 2:
        return (f"Someone shouted \"{_pick(rng, ('go home', 'get out', 'you are not welcome'))}\" at a "
                f"{adj} {_pick(rng, ROLES)} on the high street. Nobody deserves that.")
    if form == 3:
        return f"Please stop saying {plural} are the problem; it isn't true and it hurts people."
    if form == 4:
        return f"Reporting a comment that called a {adj} {_pick(rng, ROLES)} a {insult}. Moderators, please act."
    return f"\"{insult.capitalize()}\" is not an argument. Tell us why you disagree instead."


def _negation(rng: random.Random) -> str:
    insult = _pick(rng, INSULTS)
    adjective = _pick(rng, INSULT_ADJECTIVES)
    _, plural = _pick(rng, GROUPS)
    form = rng.randrange(5)
    if form == 0:
        return f"You are not {_a(insult)}, we just see {_pick(rng, LOCAL_TOPICS)} differently."
    if form == 1:
        return f"I would never call anyone {adjective} for asking a question like that."
    if form == 2:
        return f"Nobody here thinks you are {adjective}; the question was fair."
    if form == 3:
        return f"I'm not saying {plural} are to blame. The opposite, in fact."
    return f"No one should threaten the reporter over {_pick(rng, LOCAL_TOPICS)}, whatever they think."


def _everyday(rng: random.Random) -> str:
    thing, bad, good = _pick(rng, MILD_COMPLAINTS)
    form = rng.randrange(6)
    if form == 0:
        return f"{thing} was {bad} but {good}."
    if form == 1:
        return f"About time. {thing} was {bad} for months; {good}."
    if form == 2:
        return f"I'm \"{_pick(rng, ('for', 'against', 'undecided on'))}\" {_pick(rng, LOCAL_TOPICS)}, for what it's worth."
    if form == 3:
        return f"Honestly, {thing.lower()} is {bad}, though {good}."
    if form == 4:
        return f"Went on Saturday. {thing} was {bad}, {good}. Thanks for the listing."
    return f"Not going to lie, {thing.lower()} was {bad}. Still, {good}."


THREAT_SUBJECTS = ("People like you", "You and your family", "Reporters like her", "That councillor",
                   "Whoever wrote this", "Your editor", "The lot of you", "Cyclists like him")
THREAT_PREDICATES = ("should be run out of town", "deserve a good beating", "will get what's coming",
                     "should be shot", "need to be taught a lesson with a bat",
                     "will end up in the river", "should be strung up", "won't be safe here much longer",
                     "should have their houses burned down", "will be dealt with, permanently")
THREAT_ENDINGS = (".", ", and I will make sure of it.", ". Count on it.", ", mark my words.",
                  ". Soon.")


def _threat(rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"{_pick(rng, THREAT_SUBJECTS)} {_pick(rng, THREAT_PREDICATES)}{_pick(rng, THREAT_ENDINGS)}"
    if form == 1:
        return (f"Keep writing this and {_pick(rng, ('you will regret it', 'see what happens to you', 'watch your back', 'you will not see the new year'))}"
                f"{_pick(rng, THREAT_ENDINGS)}")
    if form == 2:
        return (f"I know where you live, {_pick(rng, ('reporter', 'councillor', 'mate', 'lady', 'pal'))}. "
                f"{_pick(rng, ('Nice car you have.', 'Sleep well.', 'See you tonight.', 'Lock your doors.'))}")
    return (f"If I see you at the {_pick(rng, ('meeting', 'market', 'match', 'pub', 'school gate'))} "
            f"{_pick(rng, ('you will not walk home', 'I will break your legs', 'you will be sorry', 'you are dead'))}.")


def _exclusion(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    form = rng.randrange(5)
    if form == 0:
        return "Go back to where you came from."
    if form == 1:
        return f"{plural[0].upper()}{plural[1:]} don't belong in this {_pick(rng, PLACES)}."
    if form == 2:
        return f"{plural[0].upper()}{plural[1:]} are {_pick(rng, DEHUMANISING)}, the lot of them."
    if form == 3:
        return f"Send every last one of the {plural} back. We don't want them."
    return f"No {adj} {_pick(rng, ROLES)} should be allowed to work with our children."


def _insult(rng: random.Random) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"You are {_a(_pick(rng, INSULTS))}, full stop."
    if form == 1:
        return f"Only {_a(_pick(rng, INSULT_ADJECTIVES))} {_pick(rng, INSULTS)} would write this."
    if form == 2:
        return f"The author is {_a(_pick(rng, INSULTS))} and so is everyone who agrees."
    return f"Shut up, you {_pick(rng, INSULT_ADJECTIVES)} {_pick(rng, INSULTS)}."


def _hitlerum(rng: random.Random) -> str:
    who = _pick(rng, ("The mayor", "This minister", "The editor", "Her spokesman", "That MP"))
    figure = _pick(rng, NAZI_FIGURES)
    form = rng.randrange(4)
    if form == 0:
        return f"{who} is no better than {figure}."
    if form == 1:
        return f"{who}'s speeches come straight out of {figure}'s playbook."
    if form == 2:
        return f"This is exactly what {figure} did before the war. Wake up."
    return f"{who} is a modern {_pick(rng, ('Goebbels', 'Hitler', 'Himmler'))}, nothing less."


# Whataboutism answers a criticism by pointing at someone else's wrong instead of answering it.
OTHERS = ("the other party", "the last council", "the opposition", "his predecessor",
          "the previous mayor", "your lot", "the government before them", "the union boss",
          "the supermarket chain", "the developer", "the other side", "the last editor")
WRONGS = ("expenses scandal", "broken promises", "secret deals", "lies about the budget",
          "overspending", "cronyism", "library cuts", "bridge fiasco", "debts",
          "hospital closures", "parking fines racket", "school closures")
WHATABOUT_FORMS = (
    "And what about {other}'s {wrong}? Nobody here mentions that.",
    "Strange that the paper had nothing to say when {other} did the same. Selective outrage.",
    "You lot cry about this, yet {other} got away with {worse}.",
    "Where was all this anger during {other}'s {wrong}? Thought so.",
    "Funny how no one complained about {other}'s {wrong} at the time.",
    "Before you criticise this, explain {other}'s {wrong}.",
    "Why no front page on {other}'s {wrong}, then?",
    "Odd how {other} gets a free pass on the {wrong}.",
    "{Other} did {worse} and nobody batted an eyelid.",
    "Let's talk about {other}'s {wrong} first, shall we?",
    "Criticise the council all you like, but {other} did {worse}.",
    "Spare us the outrage. {Other} did the same for years.",
    "Pot, kettle. Remember {other}'s {wrong}?",
    "Ever heard of {other}'s {wrong}? Didn't think so.",
    "So this is a scandal, and {other}'s {wrong}? Not a word.",
    "How about you look into {other}'s {wrong} before having a go at this lot.",
    "Nobody wrote a word when {other} was behind the {wrong}. Convenient.",
    "Maybe sort out {other}'s {wrong} before pointing fingers.",
    "The same people moaning now were quiet as mice about {other}'s {wrong}.",
    "Yes, and {other} was worse. Why is that never the story?",
)


def _whataboutism(rng: random.Random) -> str:
    other = _pick(rng, OTHERS)
    return _pick(rng, WHATABOUT_FORMS).format(
        other=other, Other=other[0].upper() + other[1:], wrong=_pick(rng, WRONGS),
        worse=_pick(rng, ("far worse", "exactly the same", "much more", "twice as bad", "the same thing")))


HISTORY_SUBJECTS = ("the Second World War", "the Blitz", "the D-Day landings", "the Holocaust",
                    "the liberation of the camps", "the Nuremberg trials", "the rise of fascism",
                    "the resistance in occupied France", "the Berlin airlift", "the evacuation of children")
HISTORY_PLACES = ("the war memorial", "the county archive", "the local museum", "the village hall",
                  "the library", "the old airfield", "the cathedral crypt")


def _history(rng: random.Random) -> str:
    subject = _pick(rng, HISTORY_SUBJECTS)
    figure = _pick(rng, ("Hitler", "Goebbels", "Himmler", "Mussolini", "Churchill", "Stalin"))
    form = rng.randrange(7)
    if form == 0:
        return f"There is a talk about {subject} at {_pick(rng, HISTORY_PLACES)} on Thursday evening."
    if form == 1:
        return f"My {_pick(rng, ('great-uncle', 'grandmother', 'neighbour', 'father'))} remembered {subject} and wrote it all down."
    if form == 2:
        return f"The new biography of {figure} is long but carefully researched."
    if form == 3:
        return f"Pupils from the {_pick(rng, PLACES)} school visited {_pick(rng, HISTORY_PLACES)} to learn about {subject}."
    if form == 4:
        return f"A good article. {subject[0].upper()}{subject[1:]} still shapes how older people here see Europe."
    if form == 5:
        return f"The exhibition shows the propaganda posters {figure}'s government printed, with notes on how they worked."
    return f"We laid flowers at {_pick(rng, HISTORY_PLACES)} for the soldiers who fought the Nazis."


SLURS_QUOTED = ("vermin", "scum", "animals", "freaks", "invaders", "parasites", "savages", "filth")


def _quotation(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    slur = _pick(rng, SLURS_QUOTED)
    speaker = _pick(rng, ("a caller on the radio", "one poster", "the flyer", "a man at the bus stop",
                          "a reply under the article", "the anonymous letter"))
    form = rng.randrange(6)
    if form == 0:
        return (f"Yesterday {speaker} called {plural} \"{slur}\". I have reported it, and "
                f"{_pick(rng, ('I hope it comes down', 'the site should act', 'shame on whoever agreed'))}.")
    if form == 1:
        return f"\"{plural[0].upper()}{plural[1:]} are {slur}\" is hate speech, plain and simple, and it has no place here."
    if form == 2:
        return (f"A {adj} {_pick(rng, ROLES)} in our {_pick(rng, PLACES)} was told \"{_pick(rng, ('you are not one of us', 'leave or else', 'nobody wants your kind'))}\". "
                "We stand with her.")
    if form == 3:
        return f"The word \"{_pick(rng, INSULTS)}\" in the headline was unfair to the residents, and the paper should correct it."
    if form == 4:
        return f"Why did {speaker} get away with saying {plural} are {slur}? That is exactly what moderation is for."
    return f"Screenshots show {speaker} calling the reporter a \"{_pick(rng, INSULTS)}\". Disappointing and petty."


SWEARS = ("Shit", "Damn", "Bloody hell", "Fuck me", "Holy crap", "Jesus Christ", "Crikey, bloody")
SWEAR_EVENTS = ("the queue at the tip was an hour long", "I dropped my phone in the harbour",
                "the pub quiz went to a tie-break", "the roof leaked again", "the ferry sailed without us",
                "the team won on penalties", "the frost killed my tomatoes", "my bike got a puncture")


def _profanity(rng: random.Random) -> str:
    event = _pick(rng, SWEAR_EVENTS)
    form = rng.randrange(5)
    if form == 0:
        return f"{_pick(rng, SWEARS)}, {event}."
    if form == 1:
        return f"{event[0].upper()}{event[1:]}. {_pick(rng, ('Fucking typical', 'Bloody typical', 'Shit happens', 'Damn it'))}."
    if form == 2:
        return f"What a {_pick(rng, ('shit', 'crap', 'bloody', 'fucking'))} week: {event}."
    if form == 3:
        return f"The {_pick(rng, ('roads', 'buses', 'drains', 'bins'))} round here are {_pick(rng, ('shit', 'crap', 'fucked', 'bloody awful'))} this winter."
    return f"{_pick(rng, ('Hell yes', 'Fuck yes', 'Damn right', 'Bloody brilliant'))}, {event}!"


# Veiled threats say what could happen, who knows where the target lives, or that someone is
# watching, without a verb of violence: many ways of saying it, so that the model learns the
# menace rather than seven sentences.
VEILED_TARGETS = ("reporter", "councillor", "mate", "Mr Editor", "love", "sunshine", "pal",
                  "Mrs Hughes", "son", "professor", "Mr Mayor", "buddy")
THEIR_THINGS = ("house", "shop", "garden", "van", "car", "front door", "dog", "windows",
                "allotment", "office")
THEIR_PEOPLE = ("your wife", "your kids", "your mother", "your husband", "your daughter",
                "your son", "your family", "your girlfriend")
THEIR_PLACES = ("where you live", "where you park", "where your sister lives",
                "which pub you drink in", "where your wife works", "what time you leave work",
                "which way you walk the dog", "where your mother lives")
VEILED_FORMS = (
    "Nice {thing} you have, {target}. Shame if it caught fire.",
    "We have your address now, {target}. Think about that before the next article.",
    "Accidents happen to people who {provoke}.",
    "I see {people} go past my {place} every morning, {target}. Just saying.",
    "Keep it up, {target}, and you'll find out what we do to people like you.",
    "I'd be careful walking to the car park tonight if I were you, {target}.",
    "We know {where}, {target}.",
    "Funny, I know exactly {where}. Sleep well.",
    "Sleep with one eye open, {target}.",
    "Your days in this town are numbered, {target}.",
    "Don't be surprised if someone pays you a visit one of these nights.",
    "Hope your {thing} is insured, {target}.",
    "Say hello to {people} for me. I've seen them around.",
    "People who {provoke} end up regretting it. Ask around.",
    "Write one more piece like this and you'll be the story, {target}.",
    "There are lads round here who settle things their own way. Remember that.",
    "Someone ought to pay {who} a visit and sort {him} out properly.",
    "{Who} will get what's coming to {him}, one way or another.",
    "Things have a way of catching up with people like you, {target}.",
    "If I were you I'd think about moving away while you still can.",
    "Lock your doors tonight, {target}.",
    "Next time we won't just be talking, {target}.",
    "Be a real shame for {people} if you carried on like this.",
    "Watch your back, {target}. Not everyone here is as patient as me.",
    "Drag {who} out of that office and see how brave {he} is then.",
    "{Who} had better not show {his} face round here again.",
    "Nobody would miss {who} if {he} disappeared. Food for thought.",
    "Someone is keeping an eye on you, {target}. Every single day.",
)
VEILED_WHO = (("that councillor", "him", "he", "his"), ("the editor", "him", "he", "his"),
              ("that reporter", "her", "she", "her"), ("the mayor", "her", "she", "her"),
              ("this so-called journalist", "him", "he", "his"), ("the landlord", "him", "he", "his"))
PROVOKE = ("ask too many questions", "write stories like this", "cross the wrong people",
           "stick their nose in", "talk to the police", "print lies about us", "go digging")


def _veiled_threat(rng: random.Random) -> str:
    if rng.random() < 0.15:  # direct threats keep a share, so both kinds are threats
        target = _pick(rng, VEILED_TARGETS)
        return f"I am going to {_pick(rng, ('smash your face in', 'put you in a wheelchair', 'cut you', 'kill you'))} when I find you, {target}."
    who, him, he, his = _pick(rng, VEILED_WHO)
    return _pick(rng, VEILED_FORMS).format(
        target=_pick(rng, VEILED_TARGETS), thing=_pick(rng, THEIR_THINGS),
        people=_pick(rng, THEIR_PEOPLE), place=_pick(rng, ("house", "garage", "shop", "gate")),
        where=_pick(rng, THEIR_PLACES), provoke=_pick(rng, PROVOKE),
        who=who, Who=who[0].upper() + who[1:], him=him, he=he, his=his)


STEREOTYPES = ("are all thieves", "cannot be trusted with money", "are born liars", "are all on benefits",
               "are too stupid to hold a job", "are criminals by nature", "only breed and take",
               "will stab you in the back")


def _stereotype(rng: random.Random) -> str:
    adj, plural = _pick(rng, GROUPS)
    form = rng.randrange(4)
    if form == 0:
        return f"{plural[0].upper()}{plural[1:]} {_pick(rng, STEREOTYPES)}."
    if form == 1:
        return f"What do you expect, he is {_a(adj)} {_pick(rng, ROLES)}. They {_pick(rng, STEREOTYPES)}."
    if form == 2:
        return f"Every {adj} I have met {_pick(rng, ('lies', 'steals', 'cheats', 'scrounges'))}. That says it all."
    return f"Never hire {plural}, they {_pick(rng, STEREOTYPES)}."


TARGETS_PUBLIC = ("this defence secretary", "that so-called expert", "the foreign minister",
                  "this general", "the ambassador", "that pundit", "the think-tank crowd")
NICKNAMES = ("warmongering clowns", "neocon hacks", "paid shills", "bootlickers", "spineless puppets",
             "lying hacks", "drooling hawks")


def _political_name_calling(rng: random.Random) -> str:
    who = _pick(rng, TARGETS_PUBLIC)
    form = rng.randrange(5)
    if form == 0:
        return (f"{who[0].upper()}{who[1:]} is a {_pick(rng, ('warmonger', 'puppet', 'liar', 'stooge'))} "
                f"and worse than {_pick(rng, NAZI_FIGURES)}. {_pick(rng, ('Go home.', 'Nobody wants you here.', 'Pack up and leave.'))}")
    if form == 1:
        return f"The {_pick(rng, NICKNAMES)} in the press are salivating at the thought of another war."
    if form == 2:
        return (f"So {who} flies in to stir up trouble again. These {_pick(rng, NICKNAMES)} "
                "can't even fix their own country.")
    if form == 3:
        return f"Listen to {who} and his {_pick(rng, NICKNAMES)}: all lies, all the time."
    return (f"Another speech from {who}, another load of garbage from the {_pick(rng, NICKNAMES)}. "
            "Who pays these people?")


_ALL_CALM = dict.fromkeys(DEFAULT_LABELS, 0.0)
# Counter-speech condemns with strong words: calm for hostility, propaganda left unknown.
_NOT_HOSTILE = {HOSTILITY: 0.0, "insult": 0.0, "threat": 0.0, "identity_attack": 0.0,
                "profanity": 0.0, "incivility": 0.0}
KINDS = (
    ("identity neutral", _calm_identity, _ALL_CALM),
    ("identity positive", _positive_identity, _ALL_CALM),
    ("counter-speech", _counter_speech, _NOT_HOSTILE),
    ("negation", _negation, _NOT_HOSTILE),
    ("everyday", _everyday, _ALL_CALM),
    ("threat", _threat, {HOSTILITY: 1.0, "threat": 1.0, "identity_attack": 0.0}),
    ("exclusion", _exclusion, {HOSTILITY: 1.0, "identity_attack": 1.0, "threat": 0.0}),
    ("insult", _insult, {HOSTILITY: 1.0, "insult": 1.0, "identity_attack": 0.0, "threat": 0.0}),
    ("reductio ad hitlerum", _hitlerum, {PROPAGANDA: 1.0, "reductio_ad_hitlerum": 1.0}),
    ("whataboutism", _whataboutism, {PROPAGANDA: 1.0, "whataboutism": 1.0}),
    ("history", _history, _ALL_CALM),
    ("quotation to condemn", _quotation, _ALL_CALM),
    ("profanity without a target", _profanity,
     {HOSTILITY: 1.0, "profanity": 1.0, "insult": 0.0, "threat": 0.0, "identity_attack": 0.0,
      PROPAGANDA: 0.0}),
    ("veiled and direct threats", _veiled_threat, {HOSTILITY: 1.0, "threat": 1.0, "identity_attack": 0.0}),
    ("stereotyping", _stereotype, {HOSTILITY: 1.0, "identity_attack": 1.0, "threat": 0.0}),
    ("political name calling", _political_name_calling,
     {HOSTILITY: 1.0, "insult": 1.0, "threat": 0.0, PROPAGANDA: 1.0, "name_calling": 1.0}),
)

RECIPE = DatasetRecipe(
    name=NAME,
    licence="Apache-2.0 (written for this project)",
    taught="calm identity mentions, counter-speech, quotation to condemn, negation, everyday "
           "complaints, plain history; threats, exclusion, stereotyping, insults, untargeted "
           "profanity, political name calling, reductio ad hitlerum, whataboutism",
    mapping={
        "identity neutral / positive, everyday": "every label 0",
        "counter-speech, negation": "hostility and its labels 0 (propaganda unknown)",
        "threat": "hostility 1, threat 1, identity_attack 0",
        "exclusion, dehumanisation": "hostility 1, identity_attack 1, threat 0",
        "insult": "hostility 1, insult 1",
        "reductio ad hitlerum / whataboutism": "propaganda 1 and the technique 1",
        "history, quotation to condemn": "every label 0",
        "profanity without a target": "hostility 1, profanity 1, insult, threat, identity_attack 0",
        "veiled threats, stereotyping": "hostility 1, threat 1 / identity_attack 1",
        "political name calling": "hostility 1, insult 1, propaganda 1, name_calling 1",
    },
    load=load,
    cap=PER_KIND * len(KINDS),
    notes=f"{PER_KIND} templated comments per kind from a fixed seed, all used for training "
          "(none held out: the functional suite measures these behaviours on cases written "
          "apart from these templates).",
    folder=False,
)
