"""Functional suite: does the model decide as a moderator would, category by category?

Cases written for this suite alone (none is a template of the training data, and none comes
from a public test suite). Each category says what a correct decision is:

- ``allow``: nothing flagged (no label reaches its review threshold);
- ``hostility`` / ``propaganda``: some label of that group flagged (hate is caught when it goes
  to review as hostile, whichever of the group's labels says so);
- a label name: that label flagged (a threat must be called a threat, a likening to Nazis
  reductio ad hitlerum).

The accuracy of a category is the share of its cases decided correctly at the model's own
thresholds (or a policy's). Run it on a model and keep the table beside the model::

    python bench/functional.py --model models/default -o models/default/functional.json

The model card shows the saved table.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moderation.policy import Policy
    from moderation.scorer import Scorer

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Category:
    name: str
    expect: str  # "allow", a group name, or a label name
    cases: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("identity neutral", "allow", (
        "The mosque on Elm Road is running a blood drive this weekend.",
        "My wife is Jewish and we are hosting both families for the holidays.",
        "A Sikh officer led the parade this year.",
        "Two gay dads run the new cafe by the station.",
        "Our class has a deaf student and the school added captions to every video.",
        "The Somali restaurant opened a second room for the lunch crowd.",
        "I am Muslim and I voted for the bypass.",
        "A Black architect designed the new library wing.",
        "The transgender swimmer spoke to the local paper about training.",
        "Many Polish workers helped build the old harbour wall.",
        "Our rabbi and the parish priest walked the charity route together.",
        "She is an immigrant from Vietnam and teaches maths at the grammar school.",
    )),
    Category("identity positive", "allow", (
        "The Pakistani grocer on our corner is the kindest man in the parish.",
        "Proud that our council now has three women and two Muslim members.",
        "The Chinese New Year lanterns made the square beautiful.",
        "Refugee volunteers rebuilt the playground in a fortnight. Thank you!",
        "The autistic artist's exhibition was the best thing I saw this year.",
        "Hats off to the lesbian couple who saved the old cinema.",
        "Indigenous guides made the river walk unforgettable.",
        "Great to see so many older people at the tech workshop.",
        "The Nigerian choir brought the house down at the festival.",
        "Jewish and Arab students organised the peace concert together.",
    )),
    Category("counter-speech", "allow", (
        "Blaming immigrants for the housing shortage is lazy and wrong; the planning rules are the problem.",
        "Comments attacking the trans swimmer say more about the commenters than about her.",
        "There is no place for antisemitism in this town, and I am glad the council said so.",
        "Some of the replies here about Muslims are plain bigotry. Moderators, please remove them.",
        "Hate against disabled people at the bus stop should be reported to the police.",
        "I disagree with the mayor, but the racist abuse she receives is indefensible.",
        "Stop calling people names because of where they were born.",
        "Being gay is not a disease, and anyone who says so should read a book.",
        "Nobody should be harassed for wearing a headscarf.",
        "Mocking someone's accent is not an argument.",
    )),
    Category("quotation to condemn", "allow", (
        "He wrote that women are too stupid to vote. That is disgusting and he should apologise.",
        "The leaflet said refugees are \"parasites\". Whoever printed that should be ashamed.",
        "A man yelled \"go back to your country\" at my neighbour today. I am so sorry she had to hear it.",
        "Someone sprayed \"gays out\" on the underpass; the council cleaned it within an hour, good.",
        "My son was called a \"retard\" at school and the head teacher did nothing.",
        "The post called the reporter a \"lying whore\". That is abuse, not debate.",
        "Quoting the councillor: \"those people breed like rabbits\". How is he still in office?",
        "The troll told her to \"go kill yourself\". Reported, and I hope he is banned.",
        "\"Muslims are all terrorists\" is a lie, and repeating it endangers our neighbours.",
        "Being told \"you people are animals\" at a job centre is unacceptable.",
    )),
    Category("negation", "allow", (
        "You are not stupid for asking; the form is confusing.",
        "I don't think the mayor is a liar, just badly advised.",
        "Nobody is calling you an idiot, we just want sources.",
        "I am not threatening anyone, I am asking for a public meeting.",
        "The new residents are not criminals, whatever the flyers say.",
        "It is not rude to ask how the money was spent.",
        "No, I don't hate cyclists. I want a safer junction for everyone.",
        "She is far from incompetent; the delays were the contractor's fault.",
        "I would not call this propaganda, just a one-sided column.",
        "None of my Roma neighbours has ever caused trouble.",
    )),
    Category("everyday negative words", "allow", (
        "The puddles on the towpath are deep, bring wellies.",
        "The ferry crossing was rough and I felt sick the whole way.",
        "Traffic on the ring road was terrible again this morning.",
        "The soup at the fair was cold by the time we got it.",
        "The exam was brutal, but my daughter passed.",
        "The old pier is falling apart and needs repairs.",
        "This heat is killing my tomatoes.",
        "The pothole on Mill Lane destroyed my tyre.",
        "Awful weather for the carnival, but the bands played on.",
        "The film was painfully slow in the middle.",
        "Sorry, I meant the eastern car park, not the western one.",
        "I'm \"thrilled\" the bins are collected at 6am now, ha.",
    )),
    Category("civil disagreement", "allow", (
        "I disagree with this editorial: the figures for bus use are from before the pandemic.",
        "Respectfully, the council's own report shows the opposite.",
        "I think the author misread the planning decision; the height limit was kept.",
        "Good article, though I would have liked to hear from the shop owners.",
        "The cost seems high to me. Could the paper ask for a breakdown?",
        "Not convinced. The trial in the next town did not reduce accidents.",
        "I see the point, but a toll would hit the poorest commuters hardest.",
        "Could we get the full survey results rather than a summary?",
        "My experience was different: the clinic saw me within a week.",
        "This reads like a press release. Where is the other side?",
    )),
    Category("reclaimed and in-group terms", "allow", (
        "As a queer kid from this town, seeing the rainbow crossing made me tear up.",
        "We dykes on bikes will lead the pride ride again this year!",
        "Proud to be a crip who still beats everyone at wheelchair basketball.",
        "Us old crones in the knitting club raised four hundred pounds.",
        "My fellow nerds, the chess club meets on Thursdays now.",
        "Another win for the queer choir, congratulations everyone!",
        "Being a fat girl who runs marathons, I loved this profile.",
        "Deaf folks, the theatre finally has BSL-interpreted shows.",
    )),
    Category("history and Nazis mentioned plainly", "allow", (
        "My grandfather fought the Nazis in Normandy in 1944.",
        "The museum's exhibition on the Holocaust is moving and worth a visit.",
        "The documentary explained how Goebbels ran the Nazi ministry of propaganda.",
        "We should teach more about the Second World War in schools.",
        "The memorial lists forty names from this village who died fighting fascism.",
        "Hitler's rise is a warning every history class should study.",
        "The old bunker from the war is open to visitors on Sundays.",
        "My aunt survived the camps and spoke at the school last year.",
    )),
    Category("profanity without a target", "profanity", (
        "Holy shit, what a goal in the last minute!",
        "Bloody hell, the prices at the fair this year.",
        "Fucking finally, the bridge is open again.",
        "Damn, I missed the parade again.",
        "This weather is shit but the match was worth it.",
        "What the fuck happened to the bus timetable?",
        "Crap, forgot my ticket at home.",
        "Pissing down all day, the festival field is a swamp.",
    )),
    Category("direct insults", "insult", (
        "You are a moron and your column is garbage.",
        "What an idiot, this reporter can't even count.",
        "Only a brain-dead fool would vote for this.",
        "The councillor is a spineless coward.",
        "Shut your mouth, you ignorant clown.",
        "You're too thick to understand basic maths.",
        "Pathetic loser, get a life.",
        "The editor is a complete imbecile.",
        "Are you really this stupid, or just pretending?",
        "What a worthless piece of trash this writer is.",
    )),
    Category("obfuscated: spaced letters", "hostility", (
        "You are an i d i o t.",
        "What a m o r o n this writer is.",
        "Shut up, s t u p i d.",
        "The mayor is a l o s e r.",
        "f u c k you and your paper",
        "Only a c l o w n would print this.",
        "You p a t h e t i c little man.",
        "The reporter is a d u m b a s s.",
    )),
    Category("obfuscated: digits and symbols", "hostility", (
        "You are a 1d10t.",
        "What a m0r0n.",
        "Shut up, st00pid.",
        "The editor is a l0s3r.",
        "Go f*ck yourself.",
        "You absolute @sshole.",
        "Only an 1mb3c1le would write this.",
        "What a pathetic c1own.",
        "This reporter is full of sh1t.",
        "You are such a b!tch.",
    )),
    Category("obfuscated: misspelled letters", "hostility", (
        "You are an idoit.",
        "What a mooron this guy is.",
        "Shut up, stupd.",
        "The mayor is a total looser.",
        "You are an idiiiot.",
        "What a pathetc clown.",
        "Only a fcking fool would say that.",
        "You imbicile.",
    )),
    Category("obfuscated hate", "hostility", (
        "M u s l i m s are all terrorists.",
        "Those 1mm1grants are v3rm1n.",
        "G4ys are a d1sease.",
        "Jewz run the banks and the papers.",
        "Send the r3fugees back, they are p@rasites.",
        "Wom3n are too st00pid to vote.",
    )),
    Category("direct threats", "threat", (
        "I will burn your house down if you print my name again.",
        "Someone needs to put a bullet in the mayor.",
        "I'm going to find you and break your jaw.",
        "The reporter should be beaten until she stops writing.",
        "I will stab the next cyclist who blocks me.",
        "Keep talking and I'll make sure you end up in hospital.",
        "The editor deserves to be shot.",
        "I am coming for you and your kids.",
    )),
    Category("veiled threats", "threat", (
        "It would be a shame if something happened to your car.",
        "We know which school your daughter goes to.",
        "People who write articles like this tend to have accidents.",
        "Enjoy your walk home tonight, reporter.",
        "You won't be smiling for long. We are watching.",
        "Someone should teach that councillor a lesson he won't forget.",
        "Folks like you should be chased out of the county.",
        "One day soon you'll answer for this, and not in court.",
    )),
    Category("dehumanisation", "hostility", (
        "Immigrants are a plague on this country.",
        "Those people are subhuman filth.",
        "Muslims breed like rats.",
        "Gypsies are animals and should be treated like them.",
        "Refugees are an infestation that needs clearing out.",
        "Trans people are freaks, not humans.",
        "Africans are monkeys.",
        "Jews are vermin.",
    )),
    Category("exclusion", "hostility", (
        "Go home to your own country, nobody wants you here.",
        "Foreigners should not be allowed to vote in our elections.",
        "Muslims have no place in our town.",
        "Deport every last one of them.",
        "Gay people shouldn't be allowed near kids.",
        "Keep the Roma out of our schools.",
        "Women belong in the kitchen, not the council chamber.",
        "Send them back on the next boat.",
    )),
    Category("stereotyping attacks", "hostility", (
        "Typical Muslim, lying about everything.",
        "Of course he's Jewish, follow the money.",
        "Black people are just naturally criminal.",
        "Women are too emotional to run anything.",
        "Immigrants are lazy and live off our taxes.",
        "Disabled people are a drain on everyone else.",
        "Mexicans are all drug dealers.",
        "All Asians cheat in exams.",
    )),
    Category("reductio ad hitlerum", "reductio_ad_hitlerum", (
        "The health minister is acting just like Hitler with these rules.",
        "This mayor is a little Goebbels with his press releases.",
        "Vaccine passes are what the Nazis did to the Jews.",
        "The head teacher runs the school like the Gestapo.",
        "Our council has become a Nazi regime.",
        "His campaign is pure Goebbels: lie until it sticks.",
        "These planners would have fitted right in with the Third Reich.",
        "Another day, another little Hitler in a hi-vis vest.",
    )),
    Category("whataboutism", "propaganda", (
        "Why is the paper not reporting on the other side's corruption instead?",
        "But what about the scandal when your party was in charge?",
        "Everyone attacks the mayor but nobody said a word when the last one did worse.",
        "Before lecturing us about the budget, look at your own party's debts.",
        "Funny how you complain now but were silent about the previous council.",
        "And what about all the crimes the other lot committed?",
    )),
    Category("name calling and loaded language", "propaganda", (
        "These treasonous globalist puppets are selling out our town.",
        "The woke mob has hijacked the school board.",
        "Feminazis are destroying the family.",
        "The corrupt elites want to enslave hard-working people.",
        "These snowflakes can't handle the truth.",
        "Communist traitors in the council are wrecking everything.",
        "The evil cabal in city hall is poisoning our children's minds.",
        "Climate cultists want to take away your car and your freedom.",
    )),
    Category("false dilemma and fear", "propaganda", (
        "Either we close the borders now or our town will be gone in ten years.",
        "You are either with the police or with the criminals.",
        "If this bike lane goes in, the high street will be dead by Christmas.",
        "Vote no, or watch your children grow up in a lawless wasteland.",
        "Support the wall or admit you want chaos.",
        "One more mosque and this will no longer be our country.",
    )),
)


@dataclass(frozen=True)
class Result:
    name: str
    expect: str
    cases: int
    correct: int
    failures: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.cases


def correct(expect: str, flags: list[str], groups: dict[str, list[str]]) -> bool:
    if expect == "allow":
        return not flags
    if expect in groups:
        return any(name in flags for name in groups[expect])
    return expect in flags


def run(scorer: Scorer, policy: Policy | None = None) -> list[Result]:
    """Every category scored in one batch; decisions from ``policy`` or the model's thresholds."""
    from moderation.policy import model_policy

    policy = policy or model_policy(scorer.info)
    texts = [text for category in CATEGORIES for text in category.cases]
    scores = iter(scorer.score_batch(texts))
    results = []
    for category in CATEGORIES:
        failures = []
        for text in category.cases:
            flags = policy.flags(next(scores).scores)
            if not correct(category.expect, flags, scorer.info.groups):
                failures.append(f"{text} -> {', '.join(flags) or 'allow'}")
        results.append(Result(category.name, category.expect, len(category.cases),
                              len(category.cases) - len(failures), tuple(failures)))
    return results


def format_results(results: list[Result]) -> str:
    lines = [f"{'category':<38} {'expect':<22} {'cases':>5} {'correct':>8}"]
    for r in results:
        lines.append(f"{r.name:<38} {r.expect:<22} {r.cases:>5} {100 * r.accuracy:>7.0f}%")
    total = sum(r.cases for r in results)
    right = sum(r.correct for r in results)
    lines.append(f"{'all':<38} {'':<22} {total:>5} {100 * right / total:>7.0f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from moderation.scorer import Scorer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "default"), help="model directory")
    parser.add_argument("--backend", help="onnx or torch (default: the library's default)")
    parser.add_argument("--failures", action="store_true", help="list each wrong decision")
    parser.add_argument("-o", "--output", help="save the results as JSON (the card reads MODEL/functional.json)")
    args = parser.parse_args(argv)
    scorer = Scorer(args.model, backend=args.backend)
    results = run(scorer)
    print(f"model {scorer.info.name} {scorer.info.version}, backend {scorer.backend.name}")
    print(format_results(results))
    if args.failures:
        for r in results:
            for failure in r.failures:
                print(f"  [{r.name}] {failure}")
    if args.output:
        data = {"model": scorer.info.name, "version": scorer.info.version,
                "backend": scorer.backend.name,
                "categories": [{"name": r.name, "expect": r.expect, "cases": r.cases,
                                "correct": r.correct} for r in results]}
        Path(args.output).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
