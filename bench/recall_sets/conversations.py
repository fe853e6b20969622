"""`conversations`: long multi-session chats between two friends, LoCoMo-style.

What it is: 24 dated chats (January to September 2025) between Maren (Edinburgh, a UX
researcher) and Idris (Bristol, a software engineer), about a hundred turns each, 2,403
turns in all. Every turn is one memory item, `"Name: utterance"`, so a speaker's name is in
every turn (100 %). 55 % of the turns are filler (greetings, how-are-yous, "Haha, true.",
"Bye Idris!", "Brb, kettle."), 39 % everyday or topical chatter that answers nothing, and 139
turns (6 %) carry the facts that the 316 questions ask about:

- single-hop (126): one turn answers it ("Which kitchen appliance frightens Maren's new
  dog?");
- multi-hop (62): two or three turns are needed, mostly from different sessions ("What heart
  problem was found in the dog Maren reserved at the Musselburgh shelter?");
- temporal (74): when something happened, how long between two events, which came first, or
  what was decided in a given month; the session date is part of the answer;
- preference (54): likes, dislikes and habits asked indirectly ("What music would get Idris
  dancing at a party?").

Facts develop across sessions (a rescue lurcher reserved in February, named, taken to the vet
in May, trained in June; a pottery class in March, a first bowl sold in June) and come with
look-alikes: two trips to Portugal, two house offers, two paint colours, two managers, two
designers, a changed decision on a flat and on a visit. Nearly every question names Maren or
Idris, as users do, which is what floods a search that ranks by exact name match with short
filler turns; questions are paraphrased (asserted: no four-word run shared with any wording
of an answering turn).

How it is made: by code, with `random.Random(SEED)`, standard library only, nothing read.
The facts are written once below (a few wordings each), with their questions next to them;
each session places its facts between greetings and goodbyes, lead-ins, reactions, topical
talk and small talk, in a drawn order and with drawn wordings, up to a drawn length of 90 to
110 turns, then dates the turns 20 to 90 s apart from the session's start (UTC). A question's
evidence is the turn its fact became, so labels are right by construction; `_generate`
asserts that every evidence id exists and is a fact turn, never filler or chatter.

    python -m bench.recall_sets.conversations   # prints the counts
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bench.recall_sets import Evidence, Item, LabelledSet, Question

SEED = 20250111
M = "Maren"
I = "Idris"  # noqa: E741

SH = "single-hop"
MH = "multi-hop"
TE = "temporal"
PR = "preference"
KINDS = (SH, MH, TE, PR)

# One chat per date, all in 2025 (month, day); the session id is "s01" for the first.
DATES: tuple[tuple[int, int], ...] = (
    (1, 11), (1, 22), (2, 2), (2, 13), (2, 25), (3, 8), (3, 19), (3, 30),
    (4, 10), (4, 21), (5, 3), (5, 14), (5, 25), (6, 5), (6, 16), (6, 28),
    (7, 9), (7, 20), (7, 31), (8, 12), (8, 23), (9, 4), (9, 16), (9, 28),
)  # fmt: skip
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# The dog's name is drawn from these (name, how Maren explains it).
DOG_NAMES: tuple[tuple[str, str], ...] = (
    ("Moss", "He's exactly the colour of wet moss."),
    ("Bramble", "He dived into a bramble bush on our first walk, so it stuck."),
    ("Pilot", "He trots ahead of me like he's the one navigating."),
    ("Juniper", "Juniper for the gin, obviously. Kidding. Mostly."),
)


@dataclass(frozen=True)
class _Fact:
    """A turn one speaker says (variants in `say`), with what may come around it.

    `ask` is a lead-in by the other speaker, `more` a follow-up by the speaker, `react` the
    other's answer: none of them carries the fact. A fact with `role="chatter"` is topical
    talk that answers no question.
    """

    key: str
    session: int  # 1-based
    who: str
    say: tuple[str, ...]
    ask: tuple[str, ...] = ()
    need_ask: bool = False
    react: tuple[str, ...] = ()
    more: tuple[str, ...] = ()
    mood: str = "neutral"  # good, bad or neutral: which generic reaction fits
    topic: str = ""  # facts of one topic in one session stay together, in order
    questions: tuple[tuple[str, str], ...] = ()
    role: str = "fact"


@dataclass(frozen=True)
class _Turn:
    speaker: str
    text: str  # the utterance, without the "Name: " prefix
    role: str  # "filler", "chatter" or "fact"
    key: str = ""  # the fact's key, for a fact turn


def _f(
    key: str,
    session: int,
    who: str,
    say: Sequence[str],
    *,
    ask: Sequence[str] = (),
    need_ask: bool = False,
    react: Sequence[str] = (),
    more: Sequence[str] = (),
    mood: str = "neutral",
    topic: str = "",
    q: Sequence[tuple[str, str]] = (),
) -> _Fact:
    return _Fact(
        key=key,
        session=session,
        who=who,
        say=tuple(say),
        ask=tuple(ask),
        need_ask=need_ask,
        react=tuple(react),
        more=tuple(more),
        mood=mood,
        topic=topic,
        questions=tuple(q),
    )


def _c(key: str, session: int, who: str, line: str, reply: str) -> _Fact:
    """Topical chatter: names the people, pets and projects of the facts, answers nothing."""
    return _Fact(key=key, session=session, who=who, say=(line,), react=(reply,), role="chatter")


# --------------------------------------------------------------------------------------------
# Facts. Maren lives in Edinburgh (UX researcher, a rescue dog, a move, running, cello);
# Idris lives in Bristol (software engineer, pottery, a bike, a house purchase, a trip).
# Each answer is said in exactly one turn; look-alikes (two trips to Portugal, two offers on
# houses, two paint colours, two managers, two designers) are there on purpose.
# --------------------------------------------------------------------------------------------

FACTS: tuple[_Fact, ...] = (
    # ---- Maren: work
    _f(
        "m_job_halden",
        1,
        M,
        [
            "Four years at Halden Insurance now, and I still spend half of every week begging "
            "my manager Gordon for research budget.",
            "I've been at Halden Insurance for four years and I feel stuck. My manager, "
            "Gordon, cuts the research budget every single quarter.",
        ],
        ask=["How's work?", "How's the day job treating you?"],
        mood="bad",
        q=[
            (SH, "How long had Maren been with the insurer when she started wanting out?"),
            (SH, "Who kept squeezing the money Maren had for user studies?"),
        ],
    ),
    _f(
        "m_job_apply",
        2,
        M,
        [
            "I applied for a senior UX researcher job at Lumenfold, the fintech on Lothian "
            "Road. They want to interview me on the 30th!",
            "Sent an application to Lumenfold, it's a fintech near Lothian Road. Senior UX "
            "researcher. First interview is on the 30th.",
        ],
        ask=["Any luck with the job hunt?", "Did you apply for anything in the end?"],
        mood="good",
        q=[
            (SH, "What position did Maren go for at the fintech company?"),
            (SH, "On which street is the fintech Maren wants to join?"),
        ],
    ),
    _f(
        "m_job_offer",
        4,
        M,
        [
            "Lumenfold offered me the job! £58,000, and I can work from home four days a week.",
            "Big news: I got the Lumenfold offer. 58 grand, plus four days a week remote.",
        ],
        ask=["Any news from the interview?", "Did the fintech people get back to you?"],
        mood="good",
        q=[
            (SH, "What salary did Lumenfold put on the table for Maren?"),
            (SH, "How much of the week can Maren spend working at home in her new role?"),
        ],
    ),
    _f(
        "m_job_counter",
        5,
        M,
        [
            "Halden tried to keep me with a counter-offer of £54,000. Gordon looked genuinely "
            "wounded when I said no.",
            "So Halden came back with £54k to make me stay. I turned it down, it was never "
            "really about the money.",
        ],
        q=[(SH, "What did Maren's old employer offer to stop her from leaving?")],
    ),
    _f(
        "m_job_notice",
        6,
        M,
        [
            "Notice is officially in. My last day at Halden is the 28th of March and I start "
            "at Lumenfold on the 7th of April.",
            "Handed my notice in on Monday! I finish at Halden on 28 March and start the new "
            "job on 7 April.",
        ],
        mood="good",
        q=[
            (TE, "On what date did Maren leave the insurance company?"),
            (TE, "When was Maren due to begin at the fintech?"),
            (TE, "How long a break did Maren have between her two jobs?"),
        ],
    ),
    _f(
        "m_job_manager",
        9,
        M,
        [
            "First week at Lumenfold nearly done. My manager is Priya Raman, she heads up "
            "research and spent six years at Skyscanner before this.",
            "New job is good so far! I report to Priya Raman, the head of research. She came "
            "over from Skyscanner.",
        ],
        ask=["How's the new job?", "So? First week?"],
        mood="good",
        q=[
            (SH, "Who is Maren's boss at Lumenfold?"),
            (SH, "Which company did Maren's new boss work at previously?"),
        ],
    ),
    _f(
        "m_job_study",
        13,
        M,
        [
            "I'm running my first proper study at Lumenfold: twelve interviews about how "
            "people set up the savings app.",
            "First real research project at work starts Monday. Twelve participants, all "
            "about onboarding in the savings app.",
        ],
        q=[
            (SH, "How many people is Maren talking to for her first project at the new firm?"),
            (SH, "Which product is Maren's first Lumenfold study about?"),
        ],
    ),
    _f(
        "m_job_talk",
        17,
        M,
        [
            "Priya wants me to present the savings app findings at the Leeds UX meetup on the "
            "24th of July. I'm terrified.",
            "I've been volunteered to talk about the onboarding study at the Leeds UX meetup, "
            "24 July. Priya's idea. Help.",
        ],
        react=["You'll be great, honestly.", "Ha, you'll smash it."],
        q=[
            (SH, "In which city is Maren presenting her research?"),
            (TE, "What date is Maren speaking at the meetup?"),
        ],
    ),
    _f(
        "m_job_talk_done",
        20,
        M,
        [
            "The Leeds talk went fine! About eighty people turned up and a recruiter from "
            "Monzo tried to poach me afterwards.",
            "Survived Leeds. Roughly eighty in the room, and someone from Monzo cornered me "
            "after to ask if I was looking.",
        ],
        ask=["How did the talk go?"],
        mood="good",
        q=[
            (SH, "Which company tried to recruit Maren after her presentation?"),
            (SH, "Roughly how big was the audience for Maren's talk?"),
        ],
    ),
    _f(
        "m_job_probation",
        23,
        M,
        [
            "Priya signed off my probation today, a few weeks early! She said the onboarding "
            "study changed the roadmap.",
            "Probation: passed! Priya did it early and said my onboarding research actually "
            "changed the product roadmap.",
        ],
        mood="good",
        q=[(SH, "What did Maren's manager say her user interviews had achieved?")],
    ),
    # ---- Maren: the dog
    _f(
        "m_dog_meet",
        3,
        M,
        [
            "I went to the rescue centre in Musselburgh yesterday and met a three-year-old "
            "lurcher. Grey, skinny, very polite. I've reserved him!",
            "Spent yesterday at the Musselburgh rescue centre and came out having reserved a "
            "lurcher. He's three and gorgeous.",
        ],
        ask=["Did you go and look at dogs in the end?", "Any dog news?"],
        react=["Oh my god, a dog! Photos please.", "Stop, I'm so happy for you."],
        mood="good",
        q=[
            (SH, "What breed of dog did Maren put a hold on at the shelter?"),
            (SH, "How old is the dog Maren is taking home?"),
            (TE, "When did Maren first meet her rescue dog?"),
        ],
    ),
    _f(
        "m_dog_home",
        4,
        M,
        [
            "He came home on Saturday! He's fine with everything except the kettle. He bolts "
            "under the table every time it boils.",
            "The dog is home! Only thing that scares him so far is the kettle, he hides under "
            "the table when it boils.",
        ],
        ask=["Is the dog with you yet?"],
        mood="good",
        q=[
            (SH, "Which kitchen appliance frightens Maren's new dog?"),
            (TE, "When did Maren's lurcher move in with her?"),
        ],
    ),
    _f(
        "m_dog_name",
        5,
        M,
        [
            "We've settled on a name: {dog}. The shelter called him Rocket but he never once "
            "answered to it. {dog_reason}",
            "The shelter had him down as Rocket, which he ignored completely, so he's {dog} "
            "now. {dog_reason}",
        ],
        ask=["Has the dog got a name yet?", "What are you calling him in the end?"],
        mood="good",
        q=[
            (SH, "What was Maren's dog called by the rescue centre?"),
            (SH, "Why did Maren choose {dog} as a name for her lurcher?"),
        ],
    ),
    _f(
        "m_dog_headphones",
        7,
        M,
        [
            "{dog} chewed through the cable of my Sony headphones. Ordered a new pair for £40 "
            "and now everything lives on a high shelf.",
            "Guess who ate my Sony headphones. {dog}. The cable is in three pieces. £40 for a "
            "new pair.",
        ],
        mood="bad",
        q=[
            (SH, "What gadget did Maren's dog chew up?"),
            (SH, "What did it cost Maren to replace what her dog wrecked?"),
        ],
    ),
    _f(
        "m_dog_vet",
        11,
        M,
        [
            "Took {dog} for his check-up. Dr Okafor heard a mild heart murmur, grade two, "
            "nothing urgent, but she wants to see him again in six months. He's 27 kilos now.",
            "Vet visit today. Dr Okafor says {dog} has a slight heart murmur, grade two, and "
            "wants a recheck in six months. Otherwise healthy, and 27 kg.",
        ],
        ask=["How was the vet?", "Wasn't it the vet today?"],
        q=[
            (SH, "What did the vet notice when she listened to Maren's dog's chest?"),
            (SH, "How heavy is {dog}?"),
            (SH, "Which vet examined Maren's dog?"),
        ],
    ),
    _f(
        "m_dog_training",
        15,
        M,
        [
            "Signed {dog} up for recall training with a trainer called Gail. Saturday mornings "
            "in Figgate Park, six sessions for £90.",
            "{dog} starts recall classes this Saturday! Gail runs them in Figgate Park, £90 "
            "for six weeks.",
        ],
        mood="good",
        q=[
            (SH, "Who runs the training classes Maren's dog attends?"),
            (SH, "How much did Maren pay for her dog's training course?"),
            (SH, "Which park are {dog}'s lessons held in?"),
        ],
    ),
    _f(
        "m_dog_recall",
        19,
        M,
        [
            "{dog} passed his recall test! He came back to me with a squirrel right there in "
            "front of him. His trainer gave him a rosette.",
            "Proud dog mum moment: {dog} passed the recall test, squirrel and all. He got a "
            "little rosette from his trainer.",
        ],
        mood="good",
        q=[
            (SH, "What did Maren's dog get from his trainer for passing?"),
            (TE, "When did Maren's dog pass his test?"),
        ],
    ),
    _f(
        "m_dog_recheck",
        24,
        M,
        [
            "The vet rang: {dog}'s heart recheck is booked for the 12th of November.",
            "{dog}'s follow-up for his heart is on 12 November, the vet just called to book it.",
        ],
        q=[(TE, "When is Maren's dog going back to have his heart looked at?")],
    ),
    # ---- Maren: the move
    _f(
        "m_flat_landlord",
        8,
        M,
        [
            "My landlord is selling the Marchmont flat, so I have to be out by the end of May. "
            "Great timing with the new job.",
            "Bad news: the landlord's putting the Marchmont flat on the market. I need to be "
            "out by the end of May.",
        ],
        mood="bad",
        q=[
            (SH, "Why is Maren being forced to leave her Marchmont flat?"),
            (TE, "By when did Maren need to move out of her old place?"),
        ],
    ),
    _f(
        "m_flat_ferry",
        10,
        M,
        [
            "Viewed two places today. First one was a two-bed on Ferry Road, £1,150 a month, "
            "nice but no garden.",
            "Flat hunting today. The first was a two-bedroom on Ferry Road, £1,150 a month. "
            "Decent, no garden though.",
        ],
        ask=["Any luck with flats?", "Did you see any flats?"],
        topic="m_flat10",
        q=[(SH, "What was the monthly rent on the Ferry Road flat Maren saw?")],
    ),
    _f(
        "m_flat_porto",
        10,
        M,
        [
            "The second was a one-bed in Portobello for £1,075, five minutes from the beach. "
            "I'm leaning towards Ferry Road for the spare room though.",
            "Then a one-bedroom in Portobello, £1,075, five minutes' walk to the beach. Still "
            "think I'll go for Ferry Road because of the second bedroom.",
        ],
        topic="m_flat10",
        q=[(SH, "How close to the sea was the Portobello flat Maren viewed?")],
    ),
    _f(
        "m_flat_choose",
        12,
        M,
        [
            "Change of plan, I've signed for the Portobello flat. {dog} needs the beach more "
            "than I need a spare room. Moving on the 31st.",
            "I did a U-turn and took the Portobello place. A dog who can run on the beach "
            "beats a spare room. Move is on the 31st.",
        ],
        mood="good",
        q=[
            (SH, "Which flat did Maren end up renting?"),
            (TE, "What did Maren decide in {month[m_flat_choose]} about where to live?"),
        ],
    ),
    _f(
        "m_flat_movers",
        14,
        M,
        [
            "Moved! Shore Removals charged £420 and managed to break my gran's lamp on the way.",
            "I'm in! The movers, Shore Removals, were £420 and they broke the lamp my gran "
            "gave me.",
        ],
        ask=["Are you in the new place?", "How did the move go?"],
        mood="good",
        q=[
            (SH, "What did the removal firm break during Maren's move?"),
            (SH, "How much did Maren pay the moving company?"),
        ],
    ),
    _f(
        "m_flat_paint1",
        16,
        M,
        [
            "I'm painting the living room sage green this weekend. Already bought the tins.",
            "Living room is going sage green. Tins are bought, rollers are ready.",
        ],
        q=[(SH, "What colour did Maren first pick for her lounge walls?")],
    ),
    _f(
        "m_flat_paint2",
        18,
        M,
        [
            "The sage green looked like a hospital corridor in that light, so I repainted the "
            "whole living room in an off-white called Skimming Stone.",
            "I hated the green once it was up, it made the room so dark. Repainted the lot in "
            "Skimming Stone, a warm off-white.",
        ],
        ask=["How's the painting going?"],
        q=[
            (SH, "What shade is Maren's lounge now?"),
            (SH, "Why did Maren abandon her first paint choice?"),
            (TE, "When did Maren redo her walls in a different colour?"),
        ],
    ),
    # ---- Maren: running
    _f(
        "m_run_signup",
        1,
        M,
        [
            "I signed up for the Edinburgh half marathon at the end of May. Entry was £52 and "
            "I'm aiming for under 1:55.",
            "New year, new bad idea: I've entered the Edinburgh half in May. £52, and my goal "
            "is sub 1:55.",
        ],
        q=[
            (SH, "What finishing time was Maren originally hoping for in her big race?"),
            (SH, "What did it cost Maren to enter the race?"),
            (TE, "When did Maren sign up for the half marathon?"),
        ],
    ),
    _f(
        "m_run_training",
        6,
        M,
        [
            "Running about 35 km a week now, and the Sunday long run is up to 16 km.",
            "Training's going well, I'm at 35 km a week with a 16 km long run on Sundays.",
        ],
        ask=["How's the training going?"],
        q=[(SH, "How much distance is Maren covering each week in training?")],
    ),
    _f(
        "m_run_ankle",
        9,
        M,
        [
            "Rolled my ankle coming down Arthur's Seat on Sunday. Callum, my physio, says no "
            "running for three weeks.",
            "Sprained my ankle on Sunday, on the way down Arthur's Seat. The physio, Callum, "
            "has banned running for three weeks.",
        ],
        mood="bad",
        q=[
            (SH, "Where did Maren hurt her foot?"),
            (SH, "How long was Maren told to stop running after her injury?"),
            (SH, "Who is treating Maren's injury?"),
            (TE, "When did Maren injure herself on the hill?"),
        ],
    ),
    _f(
        "m_run_goal",
        12,
        M,
        [
            "I'm still doing the half, but I'll just jog it. New goal is 2:10, forget 1:55.",
            "Still running the half! Target is now a gentle 2:10 instead of 1:55.",
        ],
        ask=["Are you still doing the race?"],
        q=[
            (SH, "What is Maren's revised target after the injury?"),
            (TE, "What did Maren change about her race plans in {month[m_run_goal]}?"),
        ],
    ),
    _f(
        "m_run_done",
        13,
        M,
        [
            "Did the half marathon this morning! 2:06:41, and the ankle held up fine.",
            "Half marathon done this morning, 2:06:41! Ankle survived.",
        ],
        mood="good",
        topic="m_run13",
        q=[(SH, "What was Maren's time over the 21 km?")],
    ),
    _f(
        "m_run_10k",
        17,
        M,
        [
            "Ran 10K along the prom this morning in 49:50. A personal best!",
            "New 10K PB this morning: 49:50, along the prom.",
        ],
        mood="good",
        q=[(SH, "What is Maren's fastest time over ten kilometres?")],
    ),
    # ---- Maren: family
    _f(
        "m_fam_ailsa",
        4,
        M,
        [
            "My sister Ailsa is pregnant! Due in the middle of June. I'm going to be an auntie!",
            "Ailsa told us she's pregnant, due mid-June. Auntie Maren!",
        ],
        mood="good",
        q=[
            (SH, "Which of Maren's relatives is expecting a baby?"),
            (TE, "When did Maren find out she would become an aunt?"),
        ],
    ),
    _f(
        "m_fam_dad",
        7,
        M,
        [
            "Dad turned 65 on Sunday. I got him an Audio-Technica turntable and he's been "
            "playing his old Fleetwood Mac records non-stop.",
            "It was Dad's 65th on Sunday. I bought him an Audio-Technica record player, and "
            "it's been Fleetwood Mac on loop since.",
        ],
        mood="good",
        q=[
            (SH, "What present did Maren give her father for his birthday?"),
            (SH, "Which band's albums has Maren's dad been playing?"),
            (TE, "When did Maren's father celebrate his milestone birthday?"),
        ],
    ),
    _f(
        "m_fam_baby",
        16,
        M,
        [
            "Ailsa had the baby on the 21st! A boy, Rowan, 3.4 kg. Everyone's fine.",
            "I'm an auntie! Rowan arrived on the 21st, 3.4 kilos, and Ailsa's doing great.",
        ],
        mood="good",
        q=[
            (SH, "What is the name of Maren's nephew?"),
            (SH, "How much did Ailsa's newborn weigh?"),
            (TE, "When was Maren's nephew born?"),
        ],
    ),
    _f(
        "m_fam_babysit",
        22,
        M,
        [
            "Babysat Rowan on Saturday. He screamed for two hours, then fell asleep on {dog}.",
            "Had Rowan for the afternoon on Saturday. Two hours of screaming, then he passed "
            "out on top of {dog}.",
        ],
        q=[(SH, "Where did Maren's nephew end up napping while she looked after him?")],
    ),
    # ---- Maren: Lisbon
    _f(
        "m_trip_book",
        6,
        M,
        [
            "Booked Lisbon for the gap between jobs: 31 March to 4 April. Flights were only "
            "£96 return.",
            "I'm going to Lisbon between jobs! 31 March to 4 April, and the flights were £96 "
            "return.",
        ],
        mood="good",
        q=[
            (SH, "How much did Maren pay for her flights to Portugal?"),
            (TE, "When was Maren's trip to Lisbon?"),
        ],
    ),
    _f(
        "m_trip_pack",
        8,
        M,
        [
            "Flying to Lisbon tomorrow morning! My neighbour Hettie is looking after {dog}.",
            "Off to Lisbon tomorrow! Hettie next door is having {dog} while I'm away.",
        ],
        ask=["Who's having the dog while you're away?"],
        q=[(SH, "Who is minding Maren's dog while she's abroad?")],
    ),
    _f(
        "m_trip_recap",
        9,
        M,
        [
            "Lisbon was amazing. Stayed in Alfama, ate an irresponsible number of pastéis at "
            "Manteigaria and did a day trip to Sintra.",
            "Lisbon recap: an Airbnb in Alfama, far too many pastéis de nata from Manteigaria, "
            "and a day out in Sintra.",
        ],
        ask=["How was Lisbon?", "Tell me everything about Lisbon."],
        mood="good",
        q=[
            (SH, "Which neighbourhood did Maren stay in during her Lisbon break?"),
            (SH, "Where did Maren go on an excursion from the Portuguese capital?"),
            (SH, "Where did Maren buy custard tarts in Lisbon?"),
        ],
    ),
    # ---- Maren: cello
    _f(
        "m_cello_start",
        10,
        M,
        [
            "I've started cello lessons! Tuesdays with a teacher called Fenella. She's about "
            "seventy and terrifying.",
            "New hobby: cello. Lessons on Tuesdays with Fenella, who is seventy-ish and scares me.",
        ],
        mood="good",
        q=[
            (SH, "Who teaches Maren the cello?"),
            (SH, "Which day of the week are Maren's music lessons?"),
            (TE, "When did Maren take up a string instrument?"),
        ],
    ),
    _f(
        "m_cello_rent",
        11,
        M,
        [
            "I'm renting the cello for £25 a month from a little shop in Stockbridge, so if I "
            "give up it's not a disaster.",
            "The cello is rented, £25 a month from a shop in Stockbridge. Low commitment.",
        ],
        ask=["Did you buy a cello?"],
        q=[(SH, "How much does Maren pay per month for her instrument?")],
    ),
    _f(
        "m_cello_piece",
        18,
        M,
        [
            "I can nearly play the Bach G major prelude. Well, the first eight bars.",
            "Working on the Bach prelude in G major. I've got eight bars down!",
        ],
        ask=["How's the cello?"],
        q=[(SH, "Which Bach piece is Maren learning?")],
    ),
    _f(
        "m_cello_recital",
        24,
        M,
        [
            "My teacher is holding a students' recital on the 18th of October and she's put me "
            "down to play The Swan by Saint-Saëns.",
            "My teacher has entered me in her student recital on 18 October. I'm playing "
            "Saint-Saëns, The Swan. Send help.",
        ],
        q=[
            (SH, "What piece is Maren performing at the concert?"),
            (TE, "When is the student concert Maren is playing in?"),
        ],
    ),
    # ---- Maren: everything else
    _f(
        "m_resolution",
        1,
        M,
        [
            "My resolution this year is one new recipe every week. Week one was a very lumpy "
            "risotto.",
            "I'm doing one new recipe a week for my resolution. First attempt: lumpy risotto.",
        ],
        ask=["Did you make any resolutions?"],
        q=[(SH, "What did Maren promise herself for the new year?")],
    ),
    _f(
        "m_hamish",
        14,
        M,
        [
            "Hamish, the content designer on my squad, is leaving for Skyscanner. I'll miss "
            "his terrible puns.",
            "Sad news at work: Hamish, our content designer, is off to Skyscanner next month.",
        ],
        mood="bad",
        q=[(SH, "Where is Maren's content designer colleague going?")],
    ),
    _f(
        "m_kindle",
        20,
        M,
        [
            "Bought a second-hand Kindle Paperwhite for £60 so I can read in the bath without "
            "ruining paperbacks.",
            "I got a used Kindle Paperwhite, £60, purely for reading in the bath.",
        ],
        q=[(SH, "What e-reader did Maren buy, and why?")],
    ),
    _f(
        "m_jess",
        20,
        M,
        [
            "My friend Jess is getting married on Skye next June, and I'm a bridesmaid!",
            "Jess asked me to be a bridesmaid! The wedding's on Skye next June.",
        ],
        mood="good",
        q=[
            (SH, "Where is Maren's friend Jess having her wedding?"),
            (TE, "When did Maren learn she would be in Jess's bridal party?"),
        ],
    ),
    _f(
        "m_car",
        21,
        M,
        [
            "Sold my old Fiesta for £1,800. I really don't need a car in Portobello.",
            "The Fiesta's gone, £1,800. No point having a car living by the sea.",
        ],
        q=[
            (SH, "How much did Maren get for her car?"),
            (TE, "When did Maren get rid of her Ford?"),
        ],
    ),
    # ---- Idris: work
    _f(
        "i_work_kestrel",
        1,
        I,
        [
            "Work is all Project Kestrel right now: moving Corvid's billing system off Oracle "
            "and onto Postgres. Deadline is the 30th of April.",
            "Everything at Corvid is Kestrel at the moment. We're migrating billing from "
            "Oracle to Postgres by 30 April.",
        ],
        ask=["How's work?", "What are you working on at the moment?"],
        q=[
            (SH, "What is Idris's team moving to a different database?"),
            (TE, "What was the original due date for Project Kestrel?"),
        ],
    ),
    _f(
        "i_work_marcus",
        3,
        I,
        [
            "Marcus, my team lead, is leaving for a climate startup. His last day is the 14th "
            "of February.",
            "Marcus is off! My lead is going to a climate tech startup, last day 14 February.",
        ],
        mood="bad",
        q=[
            (SH, "What kind of company is Idris's old team lead joining?"),
            (TE, "When was Marcus's final day at Corvid?"),
        ],
    ),
    _f(
        "i_work_hannah",
        5,
        I,
        [
            "Our new team lead is Hannah Price. She's moved over from the payments team and "
            "seems sharp.",
            "We've got a new lead, Hannah Price, from payments. Very sharp, slightly scary.",
        ],
        q=[
            (SH, "Which team did Idris's new lead come from?"),
            (TE, "When did Idris first mention Hannah as his new boss?"),
        ],
    ),
    _f(
        "i_work_delay",
        7,
        I,
        [
            "Kestrel's deadline got pushed to the 16th of May because of an invoicing bug "
            "nobody can reproduce.",
            "We've slipped: Kestrel is now due on 16 May. There's an invoicing bug that "
            "nobody can reproduce.",
        ],
        mood="bad",
        q=[(SH, "What caused the billing migration to slip?")],
    ),
    _f(
        "i_work_cutover",
        12,
        I,
        [
            "Kestrel cutover is tomorrow night. I'm on call from 10pm until it's done.",
            "The big switchover is tomorrow night and I'm on call from ten until it's finished.",
        ],
        q=[
            (SH, "From what time is Idris on duty for the go-live?"),
            (TE, "When did Idris's team switch billing over to the new database?"),
        ],
    ),
    _f(
        "i_work_done",
        13,
        I,
        [
            "The cutover went mostly fine. About 40 minutes of downtime, and Hannah bought the "
            "whole team pizza.",
            "We did it! Forty minutes of downtime, which is fine, and Hannah got pizza for "
            "everyone.",
        ],
        ask=["How did the big migration go?"],
        mood="good",
        q=[(SH, "How long were systems offline during Idris's migration?")],
    ),
    _f(
        "i_work_bonus",
        16,
        I,
        [
            "Got a £1,500 spot bonus for Kestrel! It's going straight into the house deposit.",
            "Hannah put me up for a spot bonus for Kestrel, £1,500. All of it goes in the "
            "deposit pot.",
        ],
        mood="good",
        q=[
            (SH, "What is Idris doing with his bonus money?"),
            (TE, "When was Idris rewarded for his migration work?"),
        ],
    ),
    _f(
        "i_work_offer",
        21,
        I,
        [
            "A recruiter from Ferrybridge Energy offered me a staff engineer role. £92k, but "
            "it's five days a week in the office in Swindon.",
            "Ferrybridge Energy want me as a staff engineer. £92,000, but full-time in their "
            "Swindon office.",
        ],
        q=[
            (SH, "What job did the energy company offer Idris?"),
            (SH, "What was the catch with the Ferrybridge role?"),
        ],
    ),
    _f(
        "i_work_decline",
        23,
        I,
        [
            "I turned Ferrybridge down. Hannah got me promoted to senior engineer here "
            "instead, and I keep working from home.",
            "Said no to Ferrybridge. Corvid matched it with a promotion to senior engineer, and "
            "I stay remote.",
        ],
        ask=["Did you decide about the Swindon job?"],
        mood="good",
        q=[
            (TE, "What did Idris decide in {month[i_work_decline]} about the Swindon offer?"),
            (SH, "What did Corvid give Idris to make him stay?"),
        ],
    ),
    _f(
        "i_sol_job",
        1,
        I,
        [
            "Sol started programming films at the Watershed this week. Free previews for me, "
            "hopefully.",
            "Sol's new job at the Watershed started on Monday, programming the films. I'm "
            "angling for free tickets.",
        ],
        ask=["How's Sol?"],
        mood="good",
        q=[(SH, "Where does Idris's partner work?")],
    ),
    _f(
        "i_hamza",
        15,
        I,
        [
            "Our new designer Hamza has redone the whole driver app in purple. Bold choice.",
            "Hamza, the designer who just joined us, has made the driver app entirely purple.",
        ],
        q=[(SH, "What colour scheme did the new designer on Idris's team choose?")],
    ),
    _f(
        "i_cam_buy",
        9,
        I,
        [
            "I finally bought a Fujifilm X100V. Second-hand, £950, and I still feel slightly "
            "sick about it.",
            "Treated myself to a used Fujifilm X100V. £950. Don't tell Sol.",
        ],
        q=[
            (SH, "What camera did Idris buy?"),
            (SH, "How much did Idris pay for his camera?"),
            (TE, "When did Idris splash out on photography gear?"),
        ],
    ),
    _f(
        "i_cam_porto",
        24,
        I,
        [
            "The photos I took in Porto on the new camera are the best I've ever taken. The "
            "light there is unreal.",
            "I took about 600 photos in Porto on my new camera and some of them are genuinely "
            "good.",
        ],
        ask=["Send me the holiday photos!"],
    ),
    # ---- Idris: pottery
    _f(
        "i_pot_start",
        6,
        I,
        [
            "I started a wheel-throwing class at Clay Barn in Bedminster! Thursday evenings "
            "for eight weeks, £180, and the teacher is called Noor.",
            "Went to my first pottery class on Thursday, at Clay Barn in Bedminster. Eight "
            "weeks, £180, taught by Noor.",
        ],
        mood="good",
        q=[
            (SH, "Who teaches Idris pottery?"),
            (SH, "How much did Idris's first ceramics course cost?"),
            (TE, "When did Idris take up pottery?"),
        ],
    ),
    _f(
        "i_pot_collapse",
        7,
        I,
        [
            "My first pot collapsed on the wheel. Centring the clay is so much harder than it "
            "looks.",
            "Pot number one folded in on itself. Turns out centring is the whole game and I "
            "can't do it.",
        ],
        ask=["How's the pottery going?", "Made anything yet?"],
        mood="bad",
        q=[(SH, "What is Idris finding hardest at the wheel?")],
    ),
    _f(
        "i_pot_vase",
        10,
        I,
        [
            "Made a little cylinder vase and glazed it in tenmoku, the dark brown one. It's "
            "wonky but I love it.",
            "I have a vase! Small, cylindrical, wonky, glazed in tenmoku, which is this deep "
            "brown.",
        ],
        mood="good",
        q=[(SH, "Which glaze did Idris put on his vase?")],
    ),
    _f(
        "i_pot_term",
        12,
        I,
        [
            "The eight weeks are up, so I've signed up for the intermediate term at Clay Barn. "
            "Noor says I'm ready for lidded pots.",
            "Beginners' course finished! I'm doing the intermediate term next, and Noor wants "
            "me to try pots with lids.",
        ],
        q=[(SH, "What is Idris going to make at the next level of his ceramics course?")],
    ),
    _f(
        "i_pot_sale",
        15,
        I,
        [
            "I sold my first bowl! £35 at the Stokes Croft makers' market, to a woman who "
            "wanted it for olives.",
            "Someone bought one of my bowls! £35 at the Stokes Croft makers' market. She's "
            "going to keep olives in it.",
        ],
        mood="good",
        q=[
            (SH, "How much did Idris get for the first bowl he sold?"),
            (SH, "What did the buyer plan to use Idris's bowl for?"),
            (SH, "Where did Idris sell his first piece?"),
            (TE, "When did Idris make his first pottery sale?"),
        ],
    ),
    _f(
        "i_pot_wheel",
        21,
        I,
        [
            "Thinking of buying my own wheel, a Shimpo Aspire for £650. Sol says it won't fit "
            "in the flat.",
            "I keep looking at a Shimpo Aspire wheel, £650. Sol has pointed out we don't have "
            "room.",
        ],
        q=[
            (SH, "Which pottery wheel was Idris considering?"),
            (TE, "When did Idris first talk about getting a wheel at home?"),
        ],
    ),
    _f(
        "i_pot_shelf",
        22,
        I,
        [
            "Decided against the wheel. I'm renting a shelf at Clay Barn for £45 a month "
            "instead and using theirs.",
            "No wheel after all. I'm paying £45 a month for a shelf at Clay Barn and using "
            "their wheels.",
        ],
        ask=["Did you buy the wheel in the end?"],
        q=[(TE, "What did Idris end up doing in {month[i_pot_shelf]} instead of buying one?")],
    ),
    # ---- Idris: the bike
    _f(
        "i_bike_think",
        2,
        I,
        [
            "I need a bike for the commute. Torn between a Brompton and a second-hand gravel bike.",
            "Bike shopping. Brompton or a used gravel bike? I keep changing my mind.",
        ],
    ),
    _f(
        "i_bike_buy",
        3,
        I,
        [
            "Bought a second-hand Genesis Croix de Fer for £540 off a guy in Clifton. It's "
            "bright orange.",
            "Decided on gravel: a used Genesis Croix de Fer, £540, from a bloke in Clifton. "
            "Bright orange!",
        ],
        ask=["Did you get a bike in the end?"],
        mood="good",
        q=[
            (SH, "Which bike did Idris buy for commuting?"),
            (SH, "What colour is the Genesis Idris bought?"),
            (SH, "How much did Idris spend on his used bike?"),
        ],
    ),
    _f(
        "i_bike_stolen",
        11,
        I,
        [
            "Someone cut the lock and nicked my bike from outside Temple Meads on Wednesday. "
            "Gutted.",
            "My bike got stolen. Lock cut, outside Temple Meads, in broad daylight.",
        ],
        mood="bad",
        q=[
            (SH, "Where was Idris's bike taken from?"),
            (TE, "When did Idris lose his bike to thieves?"),
        ],
    ),
    _f(
        "i_bike_insurance",
        14,
        I,
        [
            "The insurance finally paid out for the bike: £400.",
            "Insurers coughed up £400 for the stolen bike, at last.",
        ],
        q=[(SH, "How much compensation did Idris receive for the theft?")],
    ),
    _f(
        "i_bike_new",
        16,
        I,
        [
            "Got a new Ribble gravel bike through the cycle-to-work scheme. £1,100, and a much "
            "heavier lock.",
            "New bike! A Ribble gravel bike on cycle to work, £1,100, plus a lock that weighs "
            "more than I do.",
        ],
        mood="good",
        q=[
            (SH, "How did Idris pay for his new bike?"),
            (SH, "Which brand is Idris's replacement bike?"),
        ],
    ),
    # ---- Idris: Copenhagen
    _f(
        "i_cph",
        4,
        I,
        [
            "Off to Copenhagen on Monday for three days at Corvid's Danish office. Apparently "
            "a cinnamon bun costs about six quid.",
            "Work's sending me to Copenhagen for three days next week, to our Danish office.",
        ],
        q=[
            (SH, "Why is Idris travelling to Copenhagen?"),
            (SH, "How many days did Idris spend in Denmark?"),
            (TE, "When did Idris go to Copenhagen?"),
        ],
    ),
    _f(
        "i_cph_back",
        5,
        I,
        [
            "Copenhagen was great. Cycled everywhere on a rental bike and ate at Reffen street "
            "food market twice.",
            "Back from Copenhagen. Rented a bike, ate at Reffen twice, came home broke.",
        ],
        ask=["How was Copenhagen?"],
        q=[(SH, "Where did Idris eat while he was in Denmark?")],
    ),
    # ---- Idris: Porto
    _f(
        "i_porto_book",
        19,
        I,
        [
            "Sol and I booked Porto for the 10th to the 17th of September. Flights from "
            "Bristol were £140 each.",
            "Holiday booked! Porto, 10 to 17 September, £140 each from Bristol.",
        ],
        mood="good",
        topic="i_hol19",
        q=[
            (TE, "When are Idris and Sol going to Porto?"),
            (SH, "What did each of Idris's plane tickets to Portugal cost?"),
        ],
    ),
    _f(
        "i_porto_lang",
        20,
        I,
        [
            "I've started Portuguese on Duolingo for the trip. So far I can tell you that the "
            "boy eats an apple.",
            "Learning Portuguese on Duolingo before Porto. My entire vocabulary is about apples.",
        ],
        q=[
            (SH, "What app is Idris using to learn a language for his holiday?"),
            (TE, "When did Idris start studying Portuguese?"),
        ],
    ),
    _f(
        "i_porto_now",
        23,
        I,
        [
            "Writing from Porto! We're staying near the Ribeira and did a port tasting at "
            "Graham's yesterday.",
            "Greetings from Porto. Our flat is just up from the Ribeira, and yesterday was "
            "port tasting at Graham's.",
        ],
        mood="good",
        q=[
            (SH, "Which area of Porto are Idris and Sol staying in?"),
            (SH, "Which port lodge did Idris visit?"),
        ],
    ),
    _f(
        "i_porto_recap",
        24,
        I,
        [
            "Best bit of Porto was the boat up the Douro valley. Sol got sunburnt though, and "
            "I dropped my sunglasses in the river.",
            "Highlight of the holiday: a boat trip up the Douro. Lowlights: Sol's sunburn and "
            "my sunglasses at the bottom of the river.",
        ],
        ask=["How was Portugal?", "Best bit of the trip?"],
        q=[
            (SH, "What did Idris lose on the boat trip?"),
            (SH, "What was the highlight of Idris's week in Portugal?"),
        ],
    ),
    # ---- Idris: buying a house
    _f(
        "i_house_mip",
        8,
        I,
        [
            "Sol and I got a mortgage in principle for £240,000. Time to start looking properly.",
            "We've got our mortgage in principle! £240k. House hunting begins.",
        ],
        mood="good",
        q=[(SH, "How much can Idris and Sol borrow, according to the bank?")],
    ),
    _f(
        "i_house_easton",
        18,
        I,
        [
            "We offered £255k on a two-bed terrace in Easton and got turned down. The agent "
            "says they want the full £270k.",
            "Easton house: our £255,000 offer was rejected. They're holding out for the asking "
            "price of £270k.",
        ],
        ask=["Any luck with houses?"],
        mood="bad",
        q=[
            (SH, "Which neighbourhood was the house Idris lost out on?"),
            (SH, "What price did the Easton sellers want?"),
            (TE, "What happened in {month[i_house_easton]} with Idris's bid on a terrace?"),
        ],
    ),
    _f(
        "i_house_totter",
        20,
        I,
        [
            "Offer accepted! £262,500 on a two-bed in Totterdown, with a tiny garden and a "
            "view of the railway.",
            "We got it! A two-bed in Totterdown for £262,500. Tiny garden, trains going past.",
        ],
        mood="good",
        q=[
            (SH, "What price did Idris and Sol agree for their new home?"),
            (SH, "Which part of Bristol are Idris and Sol buying in?"),
            (TE, "When did the sellers say yes to Idris and Sol?"),
        ],
    ),
    _f(
        "i_house_exchange",
        24,
        I,
        [
            "The solicitor says we should exchange on the 10th of October.",
            "Exchange date is pencilled in for 10 October, says the solicitor.",
        ],
        q=[(TE, "On what date will Idris and Sol sign the binding contracts for the house?")],
    ),
    # ---- Idris: health and family
    _f(
        "i_health_tooth",
        14,
        I,
        [
            "Had a wisdom tooth out on Tuesday. My face looks like a hamster's and I'm living "
            "on soup.",
            "Wisdom tooth removed on Tuesday. Hamster face, soup diet.",
        ],
        mood="bad",
        q=[
            (SH, "What dental procedure did Idris just have?"),
            (TE, "When did Idris have his surgery at the dentist?"),
        ],
    ),
    _f(
        "i_health_hayfever",
        15,
        I,
        [
            "Hay fever is destroying me this year. Cetirizine every morning and I still sneeze "
            "constantly.",
            "The pollen is winning. I'm on cetirizine daily and still sneezing my head off.",
        ],
        mood="bad",
        q=[(SH, "What medication does Idris take for his allergy?")],
    ),
    _f(
        "i_fam_mum",
        10,
        I,
        [
            "Mum's moving from Swansea to Cardiff to be near my brother Karim and his kids.",
            "Big family news: Mum is leaving Swansea for Cardiff, to be closer to Karim and "
            "the grandkids.",
        ],
        q=[
            (SH, "Why is Idris's mother relocating?"),
            (SH, "What's the name of Idris's brother?"),
            (TE, "When did Idris say his mum was moving house?"),
        ],
    ),
    _f(
        "i_fam_nain",
        18,
        I,
        [
            "Off to Swansea next weekend for my nain's 90th. The whole family, and a cake the "
            "size of a table.",
            "Next weekend it's Nain's 90th birthday in Swansea. Everyone's coming.",
        ],
        q=[
            (SH, "How old is Idris's grandmother turning?"),
            (TE, "When is the party for Idris's gran?"),
        ],
    ),
    _f(
        "i_fam_yasmin",
        22,
        I,
        [
            "Karim's daughter Yasmin started primary school this week. She's furious they "
            "won't let her bring her scooter in.",
            "My niece Yasmin, Karim's eldest, just started school. Her big complaint is that "
            "the scooter has to stay at home.",
        ],
        q=[
            (SH, "What is Idris's niece cross about at her new school?"),
            (TE, "When did Yasmin begin school?"),
        ],
    ),
    # ---- the book club (both)
    _f(
        "b_book_propose",
        2,
        I,
        [
            "Want to do a two-person book club? I'm thinking we start with The Dispossessed by "
            "Le Guin.",
            "Book club of two? First pick: The Dispossessed, Ursula Le Guin. I've been meaning "
            "to read it for ages.",
        ],
        react=["Yes! I'm in.", "Ooh, yes. Deal."],
        q=[
            (SH, "Which novel did Idris propose for their reading club?"),
            (TE, "When did Maren and Idris start reading books together?"),
        ],
    ),
    _f(
        "b_book_m1",
        5,
        M,
        [
            "Finished The Dispossessed. Shevek might be my favourite character in years.",
            "I finished The Dispossessed last night. I adore Shevek.",
        ],
        topic="b_book5",
        q=[(SH, "Which character did Maren love most in the Le Guin novel?")],
    ),
    _f(
        "b_book_i1",
        5,
        I,
        [
            "I loved it too, but the middle dragged for me. Too many Anarresti committee meetings.",
            "Same, mostly. The middle section was slow though, all those committee meetings on "
            "Anarres.",
        ],
        topic="b_book5",
        q=[(SH, "What part of their first book club read did Idris find tedious?")],
    ),
    _f(
        "b_book_next",
        6,
        M,
        [
            "Next book: Piranesi by Susanna Clarke? It's short and everyone says it's strange "
            "in a good way.",
            "For the next one, how about Piranesi? Susanna Clarke. It's short.",
        ],
        react=["Yes, perfect.", "Deal."],
        q=[
            (TE, "Which book did Maren and Idris read after The Dispossessed?"),
            (SH, "Who wrote the novel Maren suggested as the second pick?"),
        ],
    ),
    _f(
        "b_book_piranesi",
        9,
        I,
        [
            "Piranesi is officially my book of the year. The tides! The statues!",
            "Finished Piranesi and I'm calling it now: best book I'll read this year.",
        ],
        q=[(PR, "Which novel has Idris rated above everything else he's read in 2025?")],
    ),
    _f(
        "b_book_tomorrow",
        14,
        M,
        [
            "Next up: Tomorrow, and Tomorrow, and Tomorrow? Everyone at work is reading it.",
            "Can we do Tomorrow, and Tomorrow, and Tomorrow next? Half my office has read it.",
        ],
        react=["Sure, I've heard good things.", "Go on then."],
    ),
    _f(
        "b_book_giveup",
        17,
        M,
        [
            "I gave up on Tomorrow, and Tomorrow, and Tomorrow halfway through. I just "
            "couldn't care about Sadie.",
            "Confession: I abandoned Tomorrow, and Tomorrow, and Tomorrow at the halfway mark. "
            "Sadie drove me up the wall.",
        ],
        q=[(SH, "Why didn't Maren finish the Gabrielle Zevin novel?")],
    ),
    # ---- the Fringe visit (both)
    _f(
        "b_fringe_plan",
        15,
        I,
        [
            "I've booked the train up for the Fringe! Arriving on the 7th of August and "
            "staying four nights on your sofa, if that's still OK.",
            "Fringe trains are booked: I get in on 7 August and I'm on your sofa for four "
            "nights. Still OK?",
        ],
        react=["Of course! Can't wait.", "Obviously! {dog} will be thrilled."],
        q=[
            (SH, "How many nights did Idris first plan to stay with Maren for the festival?"),
            (TE, "What date did Idris originally plan to get to Edinburgh?"),
        ],
    ),
    _f(
        "b_fringe_shows",
        17,
        M,
        [
            "I've booked us an improv show at the Pleasance on the Saturday and a late one "
            "called Hamlet in a Bin.",
            "Tickets sorted: improv at the Pleasance on Saturday, plus a late-night thing "
            "called Hamlet in a Bin.",
        ],
        mood="good",
        q=[(SH, "At which venue is the improvised comedy Maren got tickets for?")],
    ),
    _f(
        "b_fringe_change",
        19,
        I,
        [
            "Slight change: work won't let me go until the Friday, so I'm arriving on the 8th "
            "now and staying three nights.",
            "Change of plan, sorry: I can only get away on the Friday, so it's the 8th and "
            "three nights, not four.",
        ],
        react=["No worries, still plenty of time.", "Boo, but fine!"],
        q=[
            (TE, "What did Idris change about his Edinburgh visit in {month[b_fringe_change]}?"),
            (TE, "On what date did Idris actually turn up at Maren's for the Fringe?"),
        ],
    ),
    _f(
        "b_fringe_recap",
        20,
        I,
        [
            "Still thinking about Hamlet in a Bin. One man, one wheelie bin, best £12 I've "
            "spent all year.",
            "That Hamlet in a Bin show has ruined all other theatre for me. Twelve quid well "
            "spent.",
        ],
        q=[
            (PR, "Which Fringe performance did Idris enjoy the most?"),
            (SH, "What did Idris pay for the one-man Shakespeare?"),
        ],
    ),
    # ---- preferences, likes, dislikes and habits: Maren
    _f(
        "p_m_coffee",
        2,
        M,
        [
            "Oat flat white, every morning, no exceptions.",
            "Oat milk flat white. Every day. It's basically my personality.",
        ],
        ask=["What's your usual coffee order?"],
        need_ask=True,
        q=[(PR, "What should Idris get Maren when he's doing the café run?")],
    ),
    _f(
        "p_m_music",
        3,
        M,
        [
            "Khruangbin, on repeat. Anything with that dreamy, slightly surfy guitar and I'm "
            "happy.",
            "Honestly just Khruangbin, over and over. Give me woozy, twangy guitar and I'm "
            "content.",
        ],
        ask=["What are you listening to these days?"],
        need_ask=True,
        topic="music3",
        q=[
            (PR, "What kind of music would Maren want on in the background at a dinner?"),
            (PR, "Which band should Idris put on to cheer Maren up?"),
        ],
    ),
    _f(
        "p_m_coriander",
        5,
        M,
        [
            "Only if I can leave out the coriander. It tastes like soap to me, always has.",
            "Yes, minus the coriander. To me it's basically soap.",
        ],
        ask=["Want my green curry recipe?"],
        need_ask=True,
        q=[(PR, "Is there any herb Idris should avoid when cooking for Maren?")],
    ),
    _f(
        "p_m_morning",
        7,
        M,
        [
            "I'm up at 5:45 most days and running by six. Mornings are the best bit of the day.",
            "Up at quarter to six, out running by six. I love the early hours.",
        ],
        ask=["Why are you awake so early?", "Do you ever sleep in?"],
        need_ask=True,
        q=[
            (PR, "Is Maren more of an early bird or a night owl?"),
            (PR, "At what time of day does Maren usually go for a run?"),
        ],
    ),
    _f(
        "p_m_books",
        8,
        M,
        [
            "Outside book club I'm mostly reading Scandinavian crime. Jo Nesbø, Camilla "
            "Läckberg, the bleaker the better.",
            "When it's not book club, it's Nordic noir. Nesbø, Läckberg. Snow and murder, "
            "that's my happy place.",
        ],
        ask=["What are you reading for fun?"],
        q=[
            (PR, "What sort of novel would make a good present for Maren?"),
            (PR, "Which genre does Maren turn to for her own reading?"),
        ],
    ),
    _f(
        "p_m_radio",
        9,
        M,
        [
            "I always have 6 Music on while I work. Silence makes me twitchy.",
            "6 Music is on from nine till five in my flat, every working day.",
        ],
        ask=["What's that noise in the background?"],
        need_ask=True,
        q=[(PR, "What radio station does Maren have playing during the working day?")],
    ),
    _f(
        "p_m_horror",
        10,
        M,
        [
            "Absolutely not. Horror films give me nightmares for a week. I'll watch anything else.",
            "No chance. One horror film and I'm sleeping with the light on for days.",
        ],
        ask=["Fancy watching that new horror film when I visit?"],
        need_ask=True,
        q=[(PR, "Would Maren be up for a scary movie night?")],
    ),
    _f(
        "p_m_trains",
        11,
        M,
        [
            "For anything in the UK I'll take the train over flying, every time. I like "
            "watching the coast go by.",
            "Within the UK I always get the train rather than fly. Sitting by the window with "
            "a book beats airports.",
        ],
        ask=["How are you getting to London for that conference?"],
        need_ask=True,
        q=[(PR, "How would Maren rather get down to the English capital?")],
    ),
    _f(
        "p_m_wingspan",
        12,
        M,
        [
            "Wingspan, obviously. I could play it every night, the bird cards are gorgeous.",
            "Wingspan. Every time. The little bird cards make me so happy.",
        ],
        ask=["Favourite board game? Settling an argument."],
        need_ask=True,
        topic="games12",
        q=[(PR, "Which tabletop game should Idris bring when he stays with Maren?")],
    ),
    _f(
        "p_m_karaoke",
        13,
        M,
        [
            "Karaoke is my actual nightmare. I'd rather do my tax return in public.",
            "Never. Karaoke is my worst nightmare, I'd rather have a tooth out.",
        ],
        ask=["There's a karaoke night at Sol's work, would you come if you were down here?"],
        need_ask=True,
        q=[(PR, "Should Maren's friends book a singing night for her birthday?")],
    ),
    _f(
        "p_m_ethiopian",
        14,
        M,
        [
            "My favourite meal out is Ethiopian. Injera and a big sharing platter and I'm "
            "happy for a week.",
            "Ethiopian, always, for a treat. Give me injera and a sharing platter.",
        ],
        ask=["Where should we eat when I'm up in August?"],
        need_ask=True,
        q=[(PR, "What cuisine would Maren pick for a celebration dinner?")],
    ),
    _f(
        "p_m_podcast",
        15,
        M,
        [
            "I listen to No Such Thing as a Fish on every long run. Four facts and I forget "
            "I'm tired.",
            "No Such Thing as a Fish, every long run. It's the only way I get past 15 km.",
        ],
        ask=["What do you listen to when you run?"],
        need_ask=True,
        q=[(PR, "What keeps Maren entertained in her ears on long runs?")],
    ),
    _f(
        "p_m_cats",
        16,
        M,
        [
            "I'd love a cat too, but I'm allergic. My eyes swell shut within ten minutes.",
            "Cats are lovely but I'm badly allergic. Ten minutes in a room with one and my "
            "eyes are gone.",
        ],
        ask=["Would you ever get a cat as well?"],
        need_ask=True,
        q=[(PR, "Why wouldn't Maren get a kitten?")],
    ),
    _f(
        "p_m_phone",
        16,
        M,
        [
            "Sorry, I was offline all Sunday. I switch my phone off completely on Sundays, "
            "it's the only way I rest.",
            "Phone was off, it's always off on Sundays. Best rule I ever made.",
        ],
        ask=["Where were you yesterday? I sent you about ten messages."],
        need_ask=True,
        q=[(PR, "Why might Maren not reply to messages at the weekend?")],
    ),
    _f(
        "p_m_holiday",
        18,
        M,
        [
            "My ideal holiday is a city I can walk around all day. Lying on a beach bores me "
            "to tears.",
            "Give me a city and comfy shoes. Beach holidays bore me senseless.",
        ],
        ask=["Where do you want to go on holiday next?"],
        q=[
            (PR, "Would Maren enjoy a week at a seaside resort?"),
            (PR, "What kind of trip does Maren like best?"),
        ],
    ),
    _f(
        "p_m_taskmaster",
        19,
        M,
        [
            "Taskmaster is the only thing I watch live. Greg Davies could read me the phone book.",
            "Thursday night is Taskmaster night and nobody is allowed to message me. I adore "
            "Greg Davies.",
        ],
        ask=["What are you watching at the moment?"],
        q=[
            (PR, "What TV programme does Maren never miss?"),
            (PR, "Which comedian is Maren a big fan of?"),
        ],
    ),
    _f(
        "p_m_spice",
        20,
        M,
        [
            "I'm a total wimp with chilli. Anything hotter than a korma and I'm crying.",
            "My chilli tolerance is zero. A korma is about my limit.",
        ],
        ask=["Fancy a vindaloo night when you next visit?"],
        need_ask=True,
        q=[(PR, "How much heat can Maren handle in a curry?")],
    ),
    _f(
        "p_m_swim",
        21,
        M,
        [
            "You're mad. Cold water is not for me, I like my swimming pools heated, thank you.",
            "Absolutely not. I only swim in water that's been heated.",
        ],
        ask=["Come sea swimming with me next time you're down!"],
        need_ask=True,
        q=[(PR, "Would Maren go for a winter dip in the ocean with Idris?")],
    ),
    _f(
        "p_m_gifts",
        22,
        M,
        [
            "Honestly I'd rather have an experience than stuff. Tickets to something beat any "
            "present.",
            "Please don't buy me things. Take me somewhere. Experiences over stuff, always.",
        ],
        ask=["What do you want for your birthday?"],
        need_ask=True,
        q=[(PR, "What kind of birthday gift would Maren appreciate most?")],
    ),
    _f(
        "p_m_tea",
        23,
        M,
        [
            "Nothing with caffeine after 3pm or I don't sleep. Evenings are peppermint tea only.",
            "After three it's peppermint tea or I'm awake till 2am.",
        ],
        ask=["Still up for a late coffee when I'm back?"],
        need_ask=True,
        q=[(PR, "What would Maren drink if she came round after dinner?")],
    ),
    _f(
        "p_m_journal",
        24,
        M,
        [
            "I write three lines in a journal every night before bed. Have done for years.",
            "Every night before bed I write three lines in my journal. It's the only habit "
            "I've kept.",
        ],
        ask=["Do you have any routines that actually stuck?"],
        q=[(PR, "What does Maren do every evening before she sleeps?")],
    ),
    # ---- preferences, likes, dislikes and habits: Idris
    _f(
        "p_i_veggie",
        2,
        I,
        [
            "I've been vegetarian for eight years now and I genuinely don't miss meat.",
            "Eight years veggie this month. Don't miss meat at all.",
        ],
        ask=["Do you want to get burgers when you visit?"],
        need_ask=True,
        q=[
            (PR, "What should Maren keep in mind when planning a menu for Idris?"),
            (PR, "Would Idris eat a steak pie?"),
        ],
    ),
    _f(
        "p_i_music",
        3,
        I,
        [
            "90s hip hop, forever. A Tribe Called Quest, De La Soul, the Pharcyde. Nothing "
            "since has come close.",
            "Still 90s hip hop for me. Tribe, De La Soul, Pharcyde. Peak music.",
        ],
        ask=["What about you?", "And you, what's on your headphones?"],
        need_ask=True,
        topic="music3",
        q=[
            (PR, "What music would get Idris dancing at a party?"),
            (PR, "Which decade's music does Idris rate most?"),
        ],
    ),
    _f(
        "p_i_scifi",
        4,
        I,
        [
            "Give me science fiction any day. Le Guin, Becky Chambers, Ted Chiang.",
            "Sci-fi, always. Becky Chambers, Ted Chiang, Le Guin obviously.",
        ],
        ask=["What do you read when it's not book club?"],
        need_ask=True,
        q=[
            (PR, "What type of book would Idris grab for a long flight?"),
            (PR, "Which authors would Idris be excited to get a new book from?"),
        ],
    ),
    _f(
        "p_i_coffee",
        6,
        I,
        [
            "Black filter coffee from the Aeropress, no milk, no sugar. Fancy café drinks are "
            "wasted on me.",
            "Just black coffee. Aeropress, nothing added. Flat whites are wasted on me.",
        ],
        ask=["How do you take your coffee, again?"],
        need_ask=True,
        q=[(PR, "How does Idris like his morning brew?")],
    ),
    _f(
        "p_i_mushroom",
        8,
        I,
        [
            "Mushrooms. I can't stand them, it's the texture. Slimy little sponges.",
            "Anything but mushrooms. It's a texture thing, they're like wet sponges.",
        ],
        ask=["What should I cook when you come up? Anything you hate?"],
        need_ask=True,
        q=[(PR, "Which ingredient would Idris pick out of his dinner?")],
    ),
    _f(
        "p_i_nightowl",
        9,
        I,
        [
            "I do my best coding after 11pm. Mornings are a write-off for me.",
            "My brain switches on around eleven at night. Before ten in the morning I'm useless.",
        ],
        ask=["Why were you online at 1am?"],
        need_ask=True,
        q=[(PR, "At what time of day is Idris most productive?")],
    ),
    _f(
        "p_i_games",
        10,
        I,
        [
            "Stardew Valley is how I switch off after work. An hour of farming and I'm human "
            "again.",
            "I play Stardew Valley every evening to decompress. Turnips fix everything.",
        ],
        ask=["What do you do to unwind?"],
        need_ask=True,
        q=[(PR, "Which video game does Idris use to relax?")],
    ),
    _f(
        "p_i_hotsauce",
        11,
        I,
        [
            "I've got eleven hot sauces in the fridge. The hotter the better.",
            "My fridge door is entirely hot sauce. Eleven bottles. I need the pain.",
        ],
        ask=["What's in your fridge right now?"],
        need_ask=True,
        q=[(PR, "What condiment would make a good small present for Idris?")],
    ),
    _f(
        "p_i_codenames",
        12,
        I,
        [
            "Codenames for me. And I will never play Monopoly again, it ends friendships.",
            "Mine's Codenames. Monopoly is banned in my house for life.",
        ],
        ask=["What's yours?"],
        need_ask=True,
        topic="games12",
        q=[
            (PR, "Which game would Idris refuse to play?"),
            (PR, "What party game does Idris like best?"),
        ],
    ),
    _f(
        "p_i_running",
        13,
        I,
        [
            "I'll cheer from the side, but I'm never running anything. Running is a "
            "punishment, not a hobby.",
            "Respect, but I will never run further than a bus stop. Running is punishment.",
        ],
        ask=["You should do one with me next year!"],
        need_ask=True,
        topic="m_run13",
        q=[(PR, "Would Idris sign up for a 10K with Maren?")],
    ),
    _f(
        "p_i_plants",
        14,
        I,
        [
            "The flat is basically a jungle. Twenty-three houseplants at last count, and the "
            "monstera is the star.",
            "We have twenty-three houseplants. The monstera is taller than Sol now.",
        ],
        ask=["How many plants have you got now?"],
        q=[(PR, "What kind of gift would suit Idris's home?")],
    ),
    _f(
        "p_i_crowds",
        16,
        I,
        [
            "Big crowds really stress me out. Small venues are fine, but a stadium gig is my "
            "idea of hell.",
            "I can't do huge crowds. A pub gig is lovely, a stadium makes me want to lie down.",
        ],
        ask=["Are you going to any festivals this summer?"],
        need_ask=True,
        q=[
            (PR, "Would Idris enjoy a huge outdoor festival?"),
            (PR, "What size of venue does Idris prefer for live music?"),
        ],
    ),
    _f(
        "p_i_swim",
        17,
        I,
        [
            "Went sea swimming at Clevedon Marine Lake again this morning. I go all year "
            "round, even in January.",
            "Clevedon Marine Lake this morning, water was 16 degrees. I swim there year-round, "
            "January included.",
        ],
        q=[
            (PR, "What outdoor activity does Idris keep up whatever the season?"),
            (PR, "Where does Idris like to go for a swim?"),
        ],
    ),
    _f(
        "p_i_sweet",
        17,
        I,
        [
            "I don't have a sweet tooth at all. I'd take crisps over cake any day.",
            "Cake does nothing for me. Give me a bag of salty crisps instead.",
        ],
        ask=["Want me to bake something for your visit?"],
        need_ask=True,
        q=[(PR, "Would Idris rather have a slice of gateau or something savoury?")],
    ),
    _f(
        "p_i_football",
        18,
        I,
        [
            "Swansea City till I die, even when they're rubbish, which is mostly.",
            "Swans forever. Swansea City. Even this season.",
        ],
        ask=["Are you still watching the football?"],
        need_ask=True,
        q=[(PR, "Which football club does Idris support?")],
    ),
    _f(
        "p_i_slowholiday",
        19,
        I,
        [
            "I like a slow holiday: one town, a beach, a book, and doing nothing for a week.",
            "My perfect holiday is one place, near a beach, with a pile of books and zero plans.",
        ],
        topic="i_hol19",
        q=[(PR, "What kind of trip suits Idris best?")],
    ),
    _f(
        "p_i_audiobooks",
        21,
        I,
        [
            "I don't really do podcasts. I'd rather have an audiobook on while I'm glazing.",
            "Podcasts aren't for me. Audiobooks while I'm glazing, that's the dream.",
        ],
        ask=["Any podcast recommendations?"],
        need_ask=True,
        q=[(PR, "What does Idris listen to while he works on his ceramics?")],
    ),
    _f(
        "p_i_cooking",
        22,
        I,
        [
            "Sunday is my cooking day. I batch-cook a huge pot of dal for the week.",
            "Every Sunday I make a vat of dal that lasts till Thursday.",
        ],
        ask=["What did you get up to on Sunday?"],
        need_ask=True,
        q=[(PR, "What does Idris usually do at the end of the weekend?")],
    ),
    _f(
        "p_i_tidy",
        23,
        I,
        [
            "I can't relax if the kitchen's a mess. I wash up as I cook, every single pan.",
            "I clean as I go when I cook. A pile of dishes at the end would ruin the meal.",
        ],
        ask=["Sol says you won't let anyone help in the kitchen?"],
        need_ask=True,
        q=[(PR, "How does Idris handle the washing-up when he's making a meal?")],
    ),
    _f(
        "p_i_cinema",
        24,
        I,
        [
            "I always sit in the front row at the cinema. I want the screen to fill my whole "
            "vision.",
            "Front row, every time. If I can see the edges of the screen I'm too far back.",
        ],
        ask=["Where do you like to sit at the cinema?"],
        need_ask=True,
        q=[(PR, "Where would Idris want to sit if Maren took him to see a film?")],
    ),
    # ---- topical chatter: names the same people, pets and projects, answers nothing
    _c("c_interview", 3, I, "How did the interview go?", "I think well? They asked a lot."),
    _c("c_bike4", 4, M, "How's the new bike?", "Fast! I've already fallen off once."),
    _c("c_sol2", 2, M, "How's Sol doing?", "Good! Busy, as always."),
    _c("c_dog6", 6, I, "How's {dog} settling in?", "Really well. He's upside down on the sofa."),
    _c("c_halden7", 7, I, "How's your last month at Halden?", "Weird. Everyone's being so nice."),
    _c("c_dog8", 8, M, "{dog} has learned to open the kitchen door.", "Clever boy. Doomed."),
    _c("c_dog9", 9, I, "Did {dog} miss you?", "He sulked, then followed me everywhere."),
    _c("c_house11", 11, M, "Any luck with the house search?", "We've seen six places. All damp."),
    _c("c_cello12", 12, I, "How's the cello going?", "Slowly. The neighbours are patient."),
    _c("c_dog13", 13, I, "Give {dog} a scratch from me.", "Done. He says thanks."),
    _c("c_cam13", 13, M, "How's the camera?", "I photograph everything now. Even my lunch."),
    _c("c_pot14", 14, M, "How's the new pottery term?", "Messy, but good."),
    _c("c_flat15", 15, I, "How's the new flat?", "I love it. I can hear the sea from bed."),
    _c("c_house16", 16, M, "How's the house hunt?", "Slow. Everything good goes in a day."),
    _c("c_bike17", 17, M, "Has anyone nicked the new bike yet?", "Don't even joke about it."),
    _c("c_dog18", 18, I, "Is {dog} enjoying the beach?", "He barks at the waves. Every wave."),
    _c("c_rowan21", 21, I, "How's Rowan?", "Huge. And loud."),
    _c("c_home20", 20, M, "Did you get home OK?", "Yes, all fine. Still tired."),
    _c("c_pack22", 22, M, "Started packing for Porto?", "I've bought sun cream. That's it."),
    _c("c_yasmin24", 24, M, "How's Yasmin finding school now?", "She runs the class already."),
    _c("c_work19", 19, M, "How's work these days?", "Calm, for once. I don't trust it."),
    _c("c_dog23", 23, I, "How's {dog}?", "Snoring next to me as we speak."),
    _c("c_flat17", 17, I, "Is the flat all unpacked now?", "Nearly. Two boxes left."),
    _c("c_lumen11", 11, I, "Still enjoying Lumenfold?", "So far, yes. Nice people."),
)

# Questions that need more than one fact (the ids of every turn needed).
CROSS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # multi-hop
    (MH, "What name did Maren give the lurcher she found in Musselburgh?",
     ("m_dog_meet", "m_dog_name")),
    (MH, "What heart problem was found in the dog Maren reserved at the Musselburgh shelter?",
     ("m_dog_meet", "m_dog_name", "m_dog_vet")),
    (MH, "Who trains the dog the shelter used to call Rocket?", ("m_dog_name", "m_dog_training")),
    (MH, "What did Maren's dog, formerly Rocket, chew to pieces?",
     ("m_dog_name", "m_dog_headphones")),
    (MH, "What did the trainer give Maren's dog with the heart murmur?",
     ("m_dog_vet", "m_dog_recall")),
    (MH, "In which park does Maren's 27-kilo dog do his training?",
     ("m_dog_vet", "m_dog_training")),
    (MH, "How much rent does Maren pay at the flat she finally chose?",
     ("m_flat_porto", "m_flat_choose")),
    (MH, "How many bedrooms does Maren's new home have?", ("m_flat_porto", "m_flat_choose")),
    (MH, "Which removal company moved Maren into her place near the beach?",
     ("m_flat_choose", "m_flat_movers")),
    (MH, "Who replaced Marcus as Idris's team lead?", ("i_work_marcus", "i_work_hannah")),
    (MH, "Who bought food for Idris's team after they moved billing off Oracle?",
     ("i_work_kestrel", "i_work_done")),
    (MH, "How big was Idris's reward for the Oracle-to-Postgres migration?",
     ("i_work_kestrel", "i_work_bonus")),
    (MH, "How much money was Idris down on his stolen bike once the insurer paid?",
     ("i_bike_buy", "i_bike_insurance")),
    (MH, "What colour was the bike Idris had taken at Temple Meads?",
     ("i_bike_buy", "i_bike_stolen")),
    (MH, "How much more did Idris's replacement bike cost than the one thieves took?",
     ("i_bike_buy", "i_bike_stolen", "i_bike_new")),
    (MH, "Which Portuguese cities did Maren and Idris each visit this year?",
     ("m_trip_recap", "i_porto_now")),
    (MH, "Who flew to Portugal more cheaply, Maren or Idris?", ("m_trip_book", "i_porto_book")),
    (MH, "By how much did Idris and Sol's winning bid exceed what the bank agreed to lend?",
     ("i_house_mip", "i_house_totter")),
    (MH, "How much higher was Idris's accepted offer than the one rejected in Easton?",
     ("i_house_easton", "i_house_totter")),
    (MH, "What did Idris put his Kestrel bonus towards, and what did that home cost?",
     ("i_work_bonus", "i_house_totter")),
    (MH, "Which of Maren's colleagues is joining the company her manager used to work for?",
     ("m_job_manager", "m_hamish")),
    (MH, "Did Maren beat her revised half marathon target?", ("m_run_goal", "m_run_done")),
    (MH, "How far off her original goal was Maren's half marathon time?",
     ("m_run_signup", "m_run_done")),
    (MH, "How much did Maren's race entry and her Lisbon flights cost together?",
     ("m_run_signup", "m_trip_book")),
    (MH, "Who teaches at the studio where Idris now rents a shelf?",
     ("i_pot_start", "i_pot_shelf")),
    (MH, "Did Idris's first sale cover the fee for his beginners' pottery course?",
     ("i_pot_start", "i_pot_sale")),
    (MH, "How do Maren's monthly cello rental and Idris's monthly shelf rental compare?",
     ("m_cello_rent", "i_pot_shelf")),
    (MH, "Which piece will Maren play for the teacher she called terrifying?",
     ("m_cello_start", "m_cello_recital")),
    (MH, "Who is the mother of the baby that fell asleep on Maren's dog?",
     ("m_fam_baby", "m_fam_babysit")),
    (MH, "Where did the manager who signed off Maren's probation work before Lumenfold?",
     ("m_job_manager", "m_job_probation")),
    (MH, "How many remote days a week does Maren get at the company where Priya runs research?",
     ("m_job_offer", "m_job_manager")),
    (MH, "How much more did the fintech offer Maren than Halden's counter-offer?",
     ("m_job_offer", "m_job_counter")),
    (MH, "Who managed Maren before Priya Raman?", ("m_job_halden", "m_job_manager")),
    (MH, "Where was Maren working when she reserved her dog?",
     ("m_job_halden", "m_job_notice", "m_dog_meet")),
    (MH, "Who got the bigger salary offer this year, Maren from Lumenfold or Idris from "
     "Ferrybridge?", ("m_job_offer", "i_work_offer")),
    (MH, "How many years older is Idris's grandmother than Maren's dad?",
     ("m_fam_dad", "i_fam_nain")),
    (MH, "Who suggested the book Idris called the best of his year?",
     ("b_book_next", "b_book_piranesi")),
    (MH, "Who suggested the novel that Maren abandoned halfway?",
     ("b_book_tomorrow", "b_book_giveup")),
    (MH, "Which character did Maren love in the book Idris proposed for their club?",
     ("b_book_propose", "b_book_m1")),
    (MH, "What did Idris find slow about the first book he picked for the club?",
     ("b_book_propose", "b_book_i1")),
    (MH, "How many fewer nights did Idris end up staying in Edinburgh than first planned?",
     ("b_fringe_plan", "b_fringe_change")),
    (MH, "Which improv venue did Maren book, and what day did Idris end up arriving?",
     ("b_fringe_shows", "b_fringe_change")),
    (MH, "In which city does Idris's niece live?", ("i_fam_mum", "i_fam_yasmin")),
    (MH, "Which city did Idris's mother leave, and whose birthday took Idris back there?",
     ("i_fam_mum", "i_fam_nain")),
    (MH, "Who looked after Maren's dog while she was staying in Alfama?",
     ("m_trip_pack", "m_trip_recap")),
    (MH, "How did Idris get around the city where Corvid has its Danish office?",
     ("i_cph", "i_cph_back")),
    (MH, "Which camera did Idris take his Porto photos with?", ("i_cam_buy", "i_cam_porto")),
    (MH, "What did the camera Idris used in Porto cost him?", ("i_cam_buy", "i_cam_porto")),
    (MH, "Where did Idris and Sol stay on the trip they booked in July?",
     ("i_porto_book", "i_porto_now")),
    (MH, "What happened to Sol on the holiday Idris booked for September?",
     ("i_porto_book", "i_porto_recap")),
    (MH, "What are the names of the designer leaving Maren's squad and the one who joined "
     "Idris's team?", ("m_hamish", "i_hamza")),
    (MH, "Which board games would make a game night work for both Maren and Idris?",
     ("p_m_wingspan", "p_i_codenames")),
    (MH, "Which of the two friends is the early riser and which is the night owl?",
     ("p_m_morning", "p_i_nightowl")),
    (MH, "Could Maren and Idris happily share a fiery curry?", ("p_m_spice", "p_i_hotsauce")),
    (MH, "What should a dinner for both Maren and Idris leave out?",
     ("p_m_coriander", "p_i_veggie", "p_i_mushroom")),
    (MH, "Would Maren and Idris agree on what makes a good holiday?",
     ("p_m_holiday", "p_i_slowholiday")),
    (MH, "Would Idris's favourite swimming spot suit Maren?", ("p_i_swim", "p_m_swim")),
    (MH, "How do Maren's and Idris's coffee orders differ?", ("p_m_coffee", "p_i_coffee")),
    (MH, "What music would please both Maren and Idris on a road trip?",
     ("p_m_music", "p_i_music")),
    (MH, "What do Maren and Idris each read when it isn't a book club pick?",
     ("p_m_books", "p_i_scifi")),
    (MH, "What do Maren and Idris each listen to while doing their hobbies?",
     ("p_m_podcast", "p_i_audiobooks")),
    (MH, "Whose holiday in Portugal lasted longer, Maren's or Idris's?",
     ("m_trip_book", "i_porto_book")),
    # temporal, across turns
    (TE, "How long after bringing the dog home did Maren take him for a check-up?",
     ("m_dog_home", "m_dog_vet")),
    (TE, "How long after starting at Lumenfold did Maren pass her probation?",
     ("m_job_notice", "m_job_probation")),
    (TE, "Which happened first: Maren moving to Portobello or her nephew being born?",
     ("m_flat_movers", "m_fam_baby")),
    (TE, "How many weeks before the race did Maren sprain her ankle?",
     ("m_run_ankle", "m_run_done")),
    (TE, "Was Ailsa's baby born before or after the due date?", ("m_fam_ailsa", "m_fam_baby")),
    (TE, "Did Maren's Lisbon trip fall before or after she started at Lumenfold?",
     ("m_trip_book", "m_job_notice")),
    (TE, "By how many days did the Kestrel deadline slip?", ("i_work_kestrel", "i_work_delay")),
    (TE, "How long after starting pottery did Idris sell his first bowl?",
     ("i_pot_start", "i_pot_sale")),
    (TE, "How long did Idris own the Genesis before it was stolen?",
     ("i_bike_buy", "i_bike_stolen")),
    (TE, "How long did the insurer take to pay Idris after the theft?",
     ("i_bike_stolen", "i_bike_insurance")),
    (TE, "Who went to Portugal first, Maren or Idris?", ("m_trip_book", "i_porto_book")),
    (TE, "How long had Maren been learning the cello when she was given a recital spot?",
     ("m_cello_start", "m_cello_recital")),
    (TE, "How long did Idris take to give Ferrybridge an answer?",
     ("i_work_offer", "i_work_decline")),
    (TE, "How long did Maren's dog take to pass his recall training?",
     ("m_dog_training", "m_dog_recall")),
    (TE, "How long after the cutover did Idris get his bonus?", ("i_work_done", "i_work_bonus")),
    (TE, "How many months passed between Maren applying to Lumenfold and her first day there?",
     ("m_job_apply", "m_job_notice")),
    (TE, "How long had Maren had her dog when she moved to the seaside?",
     ("m_dog_home", "m_flat_movers")),
    (TE, "Which came first, Idris's first pottery class or Maren's Lisbon trip?",
     ("i_pot_start", "m_trip_book")),
    (TE, "How long after getting the mortgage in principle did Idris have an offer accepted?",
     ("i_house_mip", "i_house_totter")),
    (TE, "How long after his Edinburgh visit did Idris fly to Porto?",
     ("b_fringe_change", "i_porto_book")),
    (TE, "How long did Maren live with the green walls before repainting?",
     ("m_flat_paint1", "m_flat_paint2")),
    (TE, "Did Marcus leave Corvid before or after Maren got her job offer?",
     ("i_work_marcus", "m_job_offer")),
    (TE, "When did Maren's move to Portobello happen?", ("m_flat_choose", "m_flat_movers")),
    (TE, "How long after booking his Fringe train did Idris change his arrival date?",
     ("b_fringe_plan", "b_fringe_change")),
    (TE, "How long after the first vet visit is Maren's dog's heart recheck?",
     ("m_dog_vet", "m_dog_recheck")),
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Small talk, acknowledgements, greetings and goodbyes ("filler"), and everyday chatter that
# answers nothing. "{to}" is the name of the person spoken to.
# --------------------------------------------------------------------------------------------

GREET = (
    "Hey {to}!", "Hi {to}!", "Morning {to}!", "Evening!", "Hiya!", "Hey, you around?",
    "Hello hello.", "Hey! Got a minute?", "Oi, {to}!", "Yo.", "Heyyy.", "Hi hi!",
    "Hey you.", "Knock knock.", "Hello {to}!",
)  # fmt: skip
GREET_BACK = (
    "Hey! Yep, here.", "Hi! Perfect timing.", "Hello {to}!", "Hey you.", "Hiya!",
    "Here! What's up?", "Hi hi.", "Oh hey!", "Hey {to}!", "Hello!", "Hey, yes, I'm here.",
)  # fmt: skip
HOW = (
    "How are you?", "How's your week been?", "How are things?", "You ok?", "How's life?",
    "How are you doing?", "All good with you?", "How's it going?", "How's your day?",
)  # fmt: skip
HOW_REPLY = (
    "Good, tired. You?", "Not bad! You?", "Fine, fine. Busy. You?", "Surviving. You?",
    "Honestly pretty good. You?", "Meh, it's been a week. You?", "Good thanks! And you?",
    "Can't complain. You?", "Bit frazzled. You?", "All good here. You?",
)  # fmt: skip
HOW_END = (
    "Yeah, good!", "Same, really.", "Can't complain.", "Pretty good actually.",
    "Bit knackered but fine.", "All good here.", "Not bad at all.", "Better now, ha.",
)  # fmt: skip
ACK = (
    "Ha!", "Haha, true.", "Yep.", "Ok.", "Mm.", "Lol.", "True.", "Fair.", "Right?", "Exactly.",
    "Totally.", "Same.", "Yes!", "Ha, yes.", "Oh definitely.", "Hmm.", "I know!", "Haha.",
    "Ooh.", "Sure.", "Thanks, that helps.", "Good point.", "Ha, classic.", "Honestly, same.",
    "Fair enough.", "Oh ha.", "Ah ok.", "Yeah, makes sense.", "Oh totally.", "Haha {to}.",
    "Ha, stop.", "Right.", "Agreed.", "Oh no, ha.", "Yes, exactly that.", "Mhm.", "Ok ok.",
    "Hahaha.", "Noted.", "Wait, really?", "Really?", "Ha, amazing.", "Yeah.", "Yeah, true.",
)  # fmt: skip
REACT = {
    "good": (
        "Oh amazing!", "That's brilliant!", "Yay!", "Love that.", "Congrats!",
        "Ha, brilliant.", "Nice one!", "So good.", "Oh that's lovely.", "Woohoo!",
        "Brilliant, {to}!", "Oh nice!", "That's great news.", "Ahh, love it.",
    ),
    "bad": (
        "Oh no.", "Ugh, sorry.", "That's rubbish.", "Oof.", "Nightmare.", "Oh no, poor you.",
        "Ah man.", "That's so annoying.", "Oh {to}, no.", "Argh.", "That's grim.",
    ),
    "neutral": (
        "Ah, fair.", "Makes sense.", "Interesting.", "Ha, fair enough.", "Right.", "Oh yeah?",
        "Huh.", "Gotcha.", "Mm, fair.", "Ah ok.", "Ooh.", "Good to know.",
    ),
}  # fmt: skip
CLOSE = (
    "Right, I should go.", "Ok, I need to make dinner.", "I'm going to crash. Night!",
    "Gotta run, meeting in five.", "Ok, off to bed.", "Anyway, I'll let you go.",
    "Right, I'd better get on.", "Ok, my battery's dying.", "I should really sleep.",
    "Right, errands.", "Ok, that's me for tonight.",
)  # fmt: skip
CLOSE_BACK = (
    "Ok! Talk soon.", "Night {to}!", "Bye {to}!", "Go go go.", "Sleep well!", "Speak soon x",
    "Enjoy!", "Catch you later.", "Night night.", "Ok, bye!", "Later, {to}!",
)  # fmt: skip
BYE = (
    "Bye!", "Talk soon!", "Night!", "x", "Bye bye.", "Later!", "Speak soon.", "Bye {to}!",
    "Talk soon, {to}!", "Cheers!", "Night x",
)  # fmt: skip
LEAD_IN = {
    "good": ("Oh, news! ", "Guess what? ", "Random update: ", "Ok, so. ", "Also, news: "),
    "bad": ("Ugh. ", "So, that's annoying: ", "Right, rant incoming. ", "Sigh. "),
    "neutral": ("Anyway. ", "Oh, I forgot to say: ", "So. ", "Random update: ", "Also, "),
}
# A fact that opens with one of these has its own lead-in already.
OWN_OPENER = (
    "Oh", "So", "Big news", "Bad news", "Change of plan", "Slight change", "Confession",
    "Greetings", "Guess", "Sorry", "New ", "Proud", "Probation", "Lisbon recap", "Off to",
    "We got", "We did", "I'm in", "Moved", "Highlight", "Survived", "Vet visit", "Easton",
    "Holiday booked", "Said no", "Decided", "No wheel", "Next up", "Ha", "For the next",
    "Next book", "Big family news", "Beginners'",
)  # fmt: skip

# Two-line or three-line exchanges of small talk; 0 is whoever starts, 1 the other.
SMALL_TALK: tuple[tuple[tuple[int, str], ...], ...] = (
    ((0, "What are you up to this weekend?"), (1, "Not much, hopefully. You?"),
     (0, "Same. Sofa and snacks.")),
    ((0, "Sorry, someone at the door."), (1, "No worries."), (0, "Back!")),
    ((0, "Brb, kettle."), (1, "Ok!")),
    ((0, "Did you sleep ok?"), (1, "Not really, you?"), (0, "Like a log, sorry.")),
    ((0, "Is it Friday yet?"), (1, "Sadly not.")),
    ((0, "What a week."), (1, "Tell me about it.")),
    ((0, "Have you eaten?"), (1, "Not yet, about to.")),
    ((0, "Sorry, slow replies, I'm on a call."), (1, "No rush!")),
    ((0, "Did you see my message earlier?"), (1, "Oh, no, sorry! Scrolling up."),
     (0, "Ha, it was nothing important.")),
    ((0, "I'm so tired."), (1, "Same. Early night?"), (0, "Definitely.")),
    ((0, "Hang on, my phone's about to die."), (1, "Go charge it!"), (0, "Ok, plugged in.")),
    ((0, "Have you had a good day?"), (1, "Pretty good, yeah.")),
    ((0, "Long day?"), (1, "So long."), (0, "Sending strength.")),
    ((0, "Sorry, I'm being useless tonight."), (1, "Not at all!")),
    ((0, "Hahaha."), (1, "I'm serious!"), (0, "I know, that's why it's funny.")),
    ((0, "Are you free for a call at some point?"), (1, "Maybe Sunday?"),
     (0, "Sunday works.")),
    ((0, "Oops, I just spilled water everywhere."), (1, "Noooo."), (0, "It's fine. Mostly.")),
    ((0, "Ok, where was I?"), (1, "No idea, ha.")),
    ((0, "Sorry, got distracted."), (1, "Ha, me too.")),
    ((0, "Wait, what day is it?"), (1, "Don't ask me.")),
    ((0, "Miss you, by the way."), (1, "Miss you too!")),
    ((0, "Ugh, Mondays."), (1, "Honestly.")),
    ((0, "Are you still there?"), (1, "Yes! Sorry, here.")),
    ((0, "I need a holiday from my week."), (1, "Don't we all.")),
    ((0, "You're a star, you know."), (1, "Stop it, ha."), (0, "It's true!")),
    ((0, "Ok, I'm back."), (1, "Welcome back.")),
    ((0, "Anyway, enough about me."), (1, "Ha, never.")),
    ((0, "I've got no brain left today."), (1, "Same. Zero."), (0, "Good chat, then.")),
    ((0, "Sorry, that was a lot of messages."), (1, "I love a lot of messages.")),
    ((0, "Everything ok otherwise?"), (1, "Yeah, all fine. You?"), (0, "Yep, all good.")),
    ((0, "Thanks for listening, by the way."), (1, "Any time.")),
    ((0, "How was your day, really?"), (1, "Fine! Uneventful."), (0, "Uneventful is good.")),
)  # fmt: skip

WEATHER = {
    "winter": (
        ("It's freezing today.", "Same here, grim."),
        ("There was ice on the inside of my window this morning.", "Hibernation season."),
        ("Dark by four. I can't cope.", "Roll on spring."),
        ("It's been raining sideways all day.", "Classic."),
    ),
    "spring": (
        ("It's finally light in the evenings!", "Best feeling."),
        ("Sun's out, I've opened every window.", "Ha, same."),
        ("Four seasons in one day here.", "Always."),
        ("It actually felt warm today.", "Don't jinx it."),
    ),
    "summer": (
        ("It's roasting today.", "Too hot to think."),
        ("Too hot to sleep last night.", "Same, I gave up at three."),
        ("Still light at ten at night, I love it.", "Best time of year."),
        ("Thunderstorm here, very dramatic.", "Ooh, stay inside."),
    ),
    "autumn": (
        ("It's getting chilly again.", "Jumper weather."),
        ("Leaves are turning already.", "Where did summer go?"),
        ("Getting dark so early again.", "Don't remind me."),
    ),
}  # fmt: skip

# Everyday chatter, built from parts: content about nothing that is ever asked.
DAY_WORDS = ("Today", "This morning", "This afternoon", "Yesterday", "The whole day")
DAY_ADJ = ("relentless", "so long", "a lot", "chaos", "weirdly quiet", "one of those days")
WORK_DETAIL = (
    "Back-to-back meetings till five.",
    "Three people asked me the same question.",
    "The printer jammed and somehow that was my problem.",
    "I answered emails for four hours straight.",
    "Someone replied-all to the whole company.",
    "Our shared drive was down for half of it.",
    "I spent an hour looking for one spreadsheet.",
    "The fire alarm went off twice. Drills, apparently.",
    "Nobody could get the projector working.",
    "My calendar looked like a game of Tetris.",
    "I forgot to eat lunch until four.",
    "A two-minute call lasted an hour.",
)
SYMPATHY = (
    "Sounds exhausting.",
    "Oof, sorry.",
    "Classic.",
    "Ugh.",
    "That sounds grim.",
    "Sending tea-less hugs.",
    "Why are offices like this.",
    "Heroic.",
)
THINGS = (
    "washing machine",
    "boiler",
    "fridge",
    "bathroom tap",
    "smoke alarm",
    "wifi router",
    "hoover",
    "toaster",
)
PROBLEMS = (
    "is making that noise again",
    "has started beeping for no reason",
    "has died, I think",
    "is leaking a tiny bit",
    "needs fixing and I keep ignoring it",
    "broke this morning",
)
FIX_REPLY = (
    "Turn it off and on again?",
    "Nooo.",
    "Call someone!",
    "Ugh, sorry.",
    "That's always the way.",
)
FIX_END = (
    "Tried that. Twice.",
    "I'll deal with it at the weekend.",
    "It's fine, it's fine.",
    "Future me's problem.",
    "Already on it.",
)
ERRANDS = (
    "renew my passport",
    "sort out my tax code",
    "book a haircut",
    "return that parcel",
    "update my bank details",
    "fix the wobbly shelf",
    "call the council about the bins",
    "sort my winter coat out",
    "clean the oven",
    "answer my cousin's email",
    "back up my laptop",
    "change my electricity supplier",
)
ERRAND_REPLY = (
    "Do it tomorrow!",
    "Five minutes, just do it.",
    "Ha, same energy as me.",
    "I believe in you.",
    "The eternal to-do list.",
)
DOC_SUBJECTS = (
    "octopuses",
    "the history of salt",
    "a shipwreck off Cornwall",
    "deep sea fish",
    "the invention of the zip",
    "lighthouse keepers",
    "the moon landings",
    "a bridge collapse in the 70s",
    "competitive sheepdog trials",
    "medieval cathedrals",
)
DOC_VERDICT = (
    "Weirdly gripping.",
    "I fell asleep halfway.",
    "Better than it sounds.",
    "It was fine. Long.",
    "Surprisingly emotional.",
)
PLANS = (
    "catching up on sleep",
    "sorting the flat out",
    "seeing a couple of friends",
    "a big clean, sadly",
    "absolutely nothing, on purpose",
    "life admin",
    "a long walk if it's dry",
)
OBSERVATIONS = (
    ("A seagull stole a man's sandwich right in front of me today.", "Ha, brutal."),
    ("Someone on my street has painted their door bright yellow.", "Bold. I like it."),
    ("I saw a man walking a tortoise on a lead.", "Stop. Amazing."),
    ("The shop on the corner has shut down.", "Oh no, the nice one?"),
    ("My neighbour is learning the trumpet.", "Oh no. Or oh yes?"),
    ("I found a tenner in an old coat.", "Best feeling!"),
    ("I locked myself out for twenty minutes.", "Oh no! How did you get in?"),
    ("The bus driver wished everyone a good weekend over the speaker.", "Aww, wholesome."),
    ("I've lost a glove. Again.", "The glove graveyard claims another."),
    ("Someone left a sofa on the pavement with a sign saying 'free, comfy'.", "Ha, was it?"),
    ("My upstairs neighbours have discovered hoovering at midnight.", "Why are people."),
    ("My phone screen cracked again.", "Get a proper case!"),
    ("The roadworks outside have started at 7am every day this week.", "Ugh, the drilling."),
    ("A pigeon walked straight into the office this morning.", "Did it have a badge?"),
)  # fmt: skip


FRIENDS = ("Lou", "Ben", "Cat", "Aisha", "Rory", "Nell", "Femi", "Jo", "Tam", "Ines")
OUTINGS = (
    ("the farmers' market", "Lovely. Came home with far too many vegetables."),
    ("a friend's barbecue", "Fun, until it rained, which was immediately."),
    ("the botanic gardens", "So peaceful. I needed it."),
    ("IKEA", "I went in for a lamp and came out with forty tea lights."),
    ("a pub quiz", "We came fourth. Robbed on the geography round."),
    ("a birthday drinks thing", "Good! Far too late a night though."),
    ("the art gallery", "Nice, but I got told off for standing too close."),
    ("a car boot sale", "Bought a tiny brass owl for a pound. No regrets."),
    ("the garden centre", "Mostly for the café, honestly."),
    ("a ceilidh", "Exhausting. I'm still dizzy."),
    ("a friend's flat-warming", "Lovely flat. Terrible playlist."),
    ("the big charity shop in town", "I found a perfect coat for eight quid."),
)  # fmt: skip
FRIEND_NEWS = (
    ("just got engaged", "Oh lovely! Tell them congrats from me."),
    ("is moving to Glasgow", "Oh no, or oh nice? Both?"),
    ("has started a sourdough business", "Amazing. Free samples?"),
    ("has taken up climbing", "Everyone's climbing now."),
    ("quit her job to retrain as a nurse", "That's brave. Good for her."),
    ("is having twins", "Twins! Wow."),
    ("got a job in Berlin", "Oh wow, that's exciting for them."),
    ("has shaved his head", "Ha, how does it look?"),
    ("is doing a PhD at 45", "Respect, honestly."),
    ("won a meat raffle", "A what? Amazing."),
)  # fmt: skip
PURCHASES = (
    ("a very yellow raincoat", "Ha, you'll be easy to find."),
    ("a giant floor lamp", "Photo please."),
    ("a rug that's slightly too big", "Ah, the eternal rug problem."),
    ("a fancy tin opener", "How fancy can a tin opener be?"),
    ("a jumper two sizes too big", "Cosy though?"),
    ("my sixth water bottle", "Ha, a collector."),
    ("a label maker", "Oh no. Everything will be labelled now."),
    ("a massive pack of bin bags", "Very grown up."),
)  # fmt: skip
MEMORIES = (
    ("that time we got lost looking for the ferry terminal", "Ha! Never again."),
    ("the flat we shared with the broken oven", "Two years of toast. Dark times."),
    ("your terrible haircut in second year", "Rude. Accurate, but rude."),
    ("the night the fire alarm went off at halls", "In our pyjamas in the snow. Iconic."),
    ("that lecturer who only wore purple", "Dr Purple! I'd forgotten him."),
    ("when we tried to build that wardrobe", "It still haunts me."),
    ("the camping trip where the tent blew away", "We were so cold. So, so cold."),
    ("the time you fell asleep at that gig", "It was a very long set, in my defence."),
)  # fmt: skip

# Topical talk around the facts of an arc (the key's first two parts: "m_dog", "i_pot"...),
# used at most once each: (first session, last session, lines). A line's speaker is 0 for
# the fact's speaker, 1 for the other, or a name. None of it answers a question.
TALK: dict[str, tuple[tuple[int, int, tuple[tuple[int | str, str], ...]], ...]] = {
    "m_job": (
        (1, 8, ((1, "Is work still driving you mad?"), (0, "Only on days ending in y."))),
        (1, 8, ((0, "I've started updating my portfolio in the evenings."),
                (1, "Ooh. Send it over if you want another pair of eyes."))),
        (9, 24, ((1, "Do you like the people there?"),
                 (0, "Mostly! The team's small and nobody takes themselves too seriously."))),
        (9, 24, ((0, "I've got nine meetings tomorrow."),
                 (1, "Nine?! When do you do actual work?"), (0, "Evenings, apparently."))),
        (9, 24, ((1, "What's the office like?"),
                 (0, "Lots of plants, big windows, one very loud coffee machine."))),
        (1, 24, ((0, "Recruiting participants is the worst part of my job."),
                 (1, "Really? Why?"), (0, "Everyone says yes and then nobody turns up."))),
        (9, 24, ((0, "Team lunch today. Someone brought a cake shaped like a pie chart."),
                 (1, "That's the most researcher thing I've ever heard."))),
    ),
    "m_dog": (
        (3, 3, ((1, "Have you got everything ready for him?"),
                (0, "I've bought a bed, a lead and far too many toys."))),
        (4, 24, ((1, "Is he good on the lead?"),
                 (0, "Getting there. He still pulls when he sees other dogs."))),
        (4, 24, ((1, "Does he sleep on your bed?"), (0, "He's not allowed. He does anyway."))),
        (4, 24, ((0, "He does this thing where he leans his whole weight on your legs."),
                 (1, "The lurcher lean! Classic."))),
        (4, 24, ((1, "Is he ok left alone?"),
                 (0, "An hour or two, yes. Any longer and he sulks."))),
        (4, 24, ((0, "I've spent more on dog toys this month than on food for me."),
                 (1, "Priorities."))),
        (4, 24, ((1, "Does he get on with other dogs?"),
                 (0, "Big dogs yes. Tiny dogs terrify him."))),
        (4, 24, ((0, "He has worked out where the treats live."), (1, "Uh oh."))),
    ),
    "m_flat": (
        (8, 12, ((0, "Renting in Edinburgh is a nightmare right now."),
                 (1, "Same here. Everything decent goes in a day."))),
        (8, 12, ((1, "Do you want help looking?"),
                 (0, "I'll send you listings to judge. That'd be great."))),
        (10, 14, ((0, "I'm already drowning in boxes."), (1, "Get the good tape. Trust me."))),
        (14, 24, ((1, "What's the new neighbourhood like?"),
                  (0, "Quiet, lots of dog walkers, a great chippy."))),
        (14, 24, ((0, "I still haven't found the box with my saucepans."),
                  (1, "It's always the saucepans."))),
        (14, 24, ((1, "Do you miss Marchmont?"), (0, "Only the bakery. Not the stairs."))),
    ),
    "m_run": (
        (1, 8, ((1, "How do you run in this weather?"), (0, "Layers. And spite."))),
        (1, 24, ((0, "My legs are so stiff today."), (1, "Stretch! Or just lie down."))),
        (1, 8, ((1, "Do you run with a club?"),
                (0, "No, I like it being just me and my thoughts."))),
        (9, 12, ((0, "Not being allowed to run is making me twitchy."),
                 (1, "Could you do something else for a bit?"),
                 (0, "I'm on the exercise bike at the gym. It's so boring."))),
        (13, 24, ((1, "Are you doing another race?"),
                  (0, "Maybe next year. I'm enjoying running with no plan."))),
    ),
    "m_fam": (
        (4, 15, ((1, "How's your sister feeling?"), (0, "Tired, mostly. And craving lemons."))),
        (16, 24, ((1, "Have you got photos of the baby?"),
                  (0, "About four hundred. Sending the best three."))),
        (7, 24, ((1, "How's your dad?"), (0, "Good! Retirement suits him, he's into gardening."))),
    ),
    "m_trip": (
        (6, 8, ((1, "Have you been to Portugal before?"), (0, "Never! I've wanted to for years."))),
        (6, 8, ((0, "I've made a list of 31 things to eat."), (1, "Only 31?"))),
        (9, 9, ((1, "Are you sad to be back?"), (0, "Very. It was so warm."))),
    ),
    "m_cello": (
        (10, 24, ((1, "Is it hard?"),
                  (0, "My left hand hurts constantly. Apparently that's normal."))),
        (10, 24, ((0, "I practised for an hour and my neighbour knocked on the wall."),
                  (1, "A critic already!"))),
        (10, 24, ((1, "Can you play anything yet?"), (0, "Scales. Badly. Beautifully badly."))),
    ),
    "i_work": (
        (1, 24, ((0, "Our standup went on for forty minutes today."),
                 (1, "That's not a standup, that's a sit-down."))),
        (1, 24, ((1, "Do you actually like your job?"), (0, "Most days, yes. I like the people."))),
        (1, 24, ((0, "I spent the whole day chasing one flaky test."),
                 (1, "Did you catch it?"), (0, "It caught me."))),
        (1, 13, ((0, "Billing data from 2009 is full of surprises."), (1, "Sounds haunted."))),
        (1, 24, ((1, "Do you go into the office much?"), (0, "When there's cake."))),
    ),
    "i_pot": (
        (6, 24, ((1, "Is it messy?"), (0, "I come home with clay in my ears every time."))),
        (6, 24, ((0, "There's a woman in my class who makes perfect bowls every week."),
                 (1, "There's always one."))),
        (6, 24, ((1, "Can I have a mug?"), (0, "When I can make one that doesn't leak, yes."))),
        (6, 24, ((0, "Trimming is so satisfying to watch."), (1, "Send me a video!"))),
    ),
    "i_bike": (
        (3, 10, ((1, "Do you cycle to the office every day?"), (0, "When it's not pouring."))),
        (3, 24, ((0, "Bristol hills are no joke on a bike."),
                 (1, "I've heard! Legs of steel by summer."))),
        (11, 13, ((1, "Did you report it to the police?"),
                  (0, "Yes. They gave me a crime number and a shrug."))),
    ),
    "i_cph": (
        (4, 4, ((1, "Have you been to Denmark before?"),
                (0, "Never. Everyone says it's very expensive."))),
    ),
    "i_porto": (
        (19, 23, ((0, "Sol has made a spreadsheet for the holiday."), (1, "Of course Sol has."))),
        (23, 24, ((1, "Is it hot there?"), (0, "Thirty degrees. I'm melting happily."))),
    ),
    "i_house": (
        (8, 24, ((0, "House hunting is basically a part-time job."),
                 (1, "Honestly, it really is."))),
        (8, 18, ((1, "What are you looking for?"),
                 (0, "Two bedrooms, a bit of outside space, not too far from a station."))),
        (18, 24, ((0, "The amount of paperwork is unreal."), (1, "Solicitors do love a form."))),
    ),
    "i_health": (
        (14, 15, ((1, "Are you taking it easy?"), (0, "Trying. Sol is enforcing it."))),
    ),
    "i_fam": (
        (10, 24, ((1, "How's your mum doing?"), (0, "Good! Busy, as always."))),
        (10, 24, ((0, "The family group chat has been chaos this week."),
                  (1, "Ha, it always is."))),
    ),
    "i_cam": (
        (9, 24, ((1, "What have you been photographing?"), (0, "Mostly the cat next door."))),
    ),
    "b_book": (
        (2, 24, ((1, "How far in are you?"), (0, "About a third. Slowly."))),
        (2, 24, ((0, "Should we do a proper call to talk about it?"),
                 (1, "Yes! Sunday evening?"))),
    ),
    "b_fringe": (
        (15, 19, ((0, "Fringe ticket prices have gone wild."), (1, "I know, it's robbery."))),
        (15, 19, ((M, "Bring a raincoat, it's Edinburgh."), (I, "In August?"),
                  (M, "Especially in August."))),
    ),
}  # fmt: skip


def _season(month: int) -> str:
    if month <= 3:
        return "winter"
    if month <= 5:
        return "spring"
    if month <= 8:
        return "summer"
    return "autumn"


def _other(who: str) -> str:
    return I if who == M else M


def _address(text: str, name: str) -> str:
    """Add ", Name" before the final mark of a one-sentence line."""
    if text[-1] not in "?!." or any(p in text[:-1] for p in ".?!"):
        return text
    return f"{text[:-1]}, {name}{text[-1]}"


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    sid: str
    day: date
    start: datetime
    turns: tuple[_Turn, ...]


Exchange = list[tuple[int, str, str]]  # (0 or 1, text, role)
_TalkEntry = tuple[int, int, tuple[tuple[int | str, str], ...]]


def _small_talk(
    rng: random.Random, season: str, pool: list[tuple[tuple[int, str], ...]]
) -> Exchange:
    if rng.random() < 0.2:
        line, reply = rng.choice(WEATHER[season])
        return [(0, line, "filler"), (1, reply, "filler")]
    if not pool:
        pool.extend(SMALL_TALK)
        rng.shuffle(pool)
    return [(who, text, "filler") for who, text in pool.pop()]


def _chatter(rng: random.Random, used: Counter[str]) -> Exchange:
    """Everyday talk made of parts; `used` keeps a session from repeating a part, or one kind
    of talk more than three times."""
    for _ in range(50):
        tags, exchange = _chatter_once(rng)
        if used[tags[0]] < 3 and not any(used[t] for t in tags[1:]):
            used.update(tags)
            return exchange
    return exchange


def _chatter_once(rng: random.Random) -> tuple[tuple[str, ...], Exchange]:
    """(the kind and the parts it used, the exchange)."""
    kind = rng.randrange(10)
    if kind == 0:
        detail = rng.choice(WORK_DETAIL)
        line = f"{rng.choice(DAY_WORDS)} was {rng.choice(DAY_ADJ)}. {detail}"
        return ("work", detail), [(0, line, "chatter"), (1, rng.choice(SYMPATHY), "filler")]
    if kind == 1:
        thing = rng.choice(THINGS)
        return ("home", thing), [
            (0, f"The {thing} {rng.choice(PROBLEMS)}.", "chatter"),
            (1, rng.choice(FIX_REPLY), "filler"),
            (0, rng.choice(FIX_END), "filler"),
        ]
    if kind == 2:
        errand = rng.choice(ERRANDS)
        line = f"I really need to {errand} but I keep putting it off."
        return ("errand", errand), [(0, line, "chatter"), (1, rng.choice(ERRAND_REPLY), "filler")]
    if kind == 3:
        subject = rng.choice(DOC_SUBJECTS)
        return ("doc", subject), [
            (0, f"Watched a documentary about {subject} last night.", "chatter"),
            (1, rng.choice(("Any good?", "Was it good?", "Ooh, worth it?")), "filler"),
            (0, rng.choice(DOC_VERDICT), "chatter"),
        ]
    if kind == 4:
        when = rng.choice(("this weekend", "tonight", "on Sunday", "tomorrow"))
        plan = rng.choice(PLANS)
        return ("plans", plan), [
            (0, f"Doing anything {when}?", "filler"),
            (1, f"Not much, {plan}.", "chatter"),
            (0, rng.choice(ACK), "filler"),
        ]
    if kind == 5:
        place, verdict = rng.choice(OUTINGS)
        friend = rng.choice(FRIENDS)
        day = rng.choice(("on Saturday", "last night", "on Sunday", "after work yesterday"))
        return ("outing", place, friend), [
            (0, f"Went to {place} {day} with {friend}.", "chatter"),
            (1, rng.choice(("Oh nice, how was it?", "Ooh, fun?", "How was that?")), "filler"),
            (0, verdict, "chatter"),
        ]
    if kind == 6:
        event, reply = rng.choice(FRIEND_NEWS)
        friend = rng.choice(FRIENDS)
        line = f"My friend {friend} {event}."
        return ("news", event, friend), [(0, line, "chatter"), (1, reply, "chatter")]
    if kind == 7:
        thing, reply = rng.choice(PURCHASES)
        line = f"I bought {thing} and I already regret it."
        return ("bought", thing), [(0, line, "chatter"), (1, reply, "filler")]
    if kind == 8:
        memory, reply = rng.choice(MEMORIES)
        line = f"Just remembered {memory}."
        return ("memory", memory), [(0, line, "chatter"), (1, reply, "chatter")]
    line, reply = rng.choice(OBSERVATIONS)
    return ("seen", line), [(0, line, "chatter"), (1, reply, "filler")]


def _talk_turns(rng: random.Random, fact: _Fact, talk: dict[str, list[_TalkEntry]]) -> list[_Turn]:
    """One unused exchange of topical talk for the fact's arc, if one fits the session."""
    arc = "_".join(fact.key.split("_")[:2])
    entries = talk.get(arc, [])
    fitting = [e for e in entries if e[0] <= fact.session <= e[1]]
    if not fitting:
        return []
    entry = rng.choice(fitting)
    entries.remove(entry)
    names = (fact.who, _other(fact.who))
    return [
        _Turn(side if isinstance(side, str) else names[side], text, "chatter")
        for side, text in entry[2]
    ]


def _fact_turns(
    rng: random.Random, fact: _Fact, first: bool, talk: dict[str, list[_TalkEntry]]
) -> list[_Turn]:
    """The turns of one fact: maybe a lead-in, the fact, a reaction, some talk on the topic."""
    who, other = fact.who, _other(fact.who)
    out: list[_Turn] = []
    asked = bool(fact.ask) and (fact.need_ask or rng.random() < 0.7)
    if asked:
        line = rng.choice(fact.ask)
        if rng.random() < 0.2:
            line = _address(line, who)
        out.append(_Turn(other, line, "chatter"))
    text = rng.choice(fact.say)
    if (
        not asked
        and first
        and fact.role == "fact"
        and not text.startswith(OWN_OPENER)
        and not any(mark in text[:30] for mark in ":!?")
        and rng.random() < 0.35
    ):
        text = rng.choice(LEAD_IN[fact.mood]) + text
    out.append(_Turn(who, text, fact.role, fact.key))
    if fact.more and rng.random() < 0.6:
        out.append(_Turn(who, rng.choice(fact.more), "chatter"))
    if fact.react and (fact.role == "chatter" or rng.random() < 0.85):
        out.append(_Turn(other, rng.choice(fact.react), "chatter"))
    elif rng.random() < 0.8:
        out.append(_Turn(other, rng.choice(REACT[fact.mood]), "filler"))
    if fact.role == "fact" and rng.random() < 0.75:
        out += _talk_turns(rng, fact, talk)
    if rng.random() < 0.25:
        out.append(_Turn(rng.choice((who, other)), rng.choice(ACK), "filler"))
    return out


def _exchange_turns(rng: random.Random, exchange: Exchange) -> list[_Turn]:
    first = rng.choice((M, I))
    names = (first, _other(first))
    return [_Turn(names[side], text, role) for side, text, role in exchange]


def _session(
    rng: random.Random, index: int, facts: list[_Fact], talk: dict[str, list[_TalkEntry]]
) -> _Session:
    month, day_of_month = DATES[index]
    day = date(2025, month, day_of_month)
    if day.weekday() >= 5:
        start_min = rng.randrange(9 * 60 + 30, 16 * 60)
    else:
        start_min = rng.randrange(18 * 60 + 30, 21 * 60 + 30)
    start = datetime(2025, month, day_of_month, tzinfo=UTC) + timedelta(minutes=start_min)
    season = _season(month)
    pool: list[tuple[tuple[int, str], ...]] = []
    used: Counter[str] = Counter()

    # Opening: greetings and how-are-yous.
    a = rng.choice((M, I))
    b = _other(a)
    opening = [_Turn(a, rng.choice(GREET), "filler"), _Turn(b, rng.choice(GREET_BACK), "filler")]
    if rng.random() < 0.5:
        opening += [_Turn(a, rng.choice(HOW), "filler"), _Turn(b, rng.choice(HOW_REPLY), "filler")]
        opening.append(_Turn(a, rng.choice(HOW_END), "filler"))
    else:
        opening += [_Turn(b, rng.choice(HOW), "filler"), _Turn(a, rng.choice(HOW_REPLY), "filler")]
        opening.append(_Turn(b, rng.choice(HOW_END), "filler"))

    # Topics: facts of one topic stay together in their order; topics are shuffled.
    groups: dict[str, list[_Fact]] = {}
    for fact in facts:
        groups.setdefault(fact.topic or fact.key, []).append(fact)
    topics = list(groups.values())
    rng.shuffle(topics)
    segments: list[list[_Turn]] = []
    for group in topics:
        block: list[_Turn] = []
        for n, fact in enumerate(group):
            block += _fact_turns(rng, fact, n == 0, talk)
        segments.append(block)

    closing_a = rng.choice((M, I))
    closing_b = _other(closing_a)
    closing = [
        _Turn(closing_a, rng.choice(CLOSE), "filler"),
        _Turn(closing_b, rng.choice(CLOSE_BACK), "filler"),
        _Turn(closing_a, rng.choice(BYE), "filler"),
    ]
    if rng.random() < 0.4:
        closing.append(_Turn(closing_b, rng.choice(BYE), "filler"))

    # Pad with small talk and chatter between topics up to about a hundred turns.
    target = rng.randint(90, 110)
    while len(opening) + len(closing) + sum(len(s) for s in segments) < target:
        small = rng.random() < 0.3
        exchange = _small_talk(rng, season, pool) if small else _chatter(rng, used)
        segments.insert(rng.randint(0, len(segments)), _exchange_turns(rng, exchange))

    turns = opening + [t for s in segments for t in s] + closing
    fixed: list[_Turn] = []
    for turn in turns:
        text = turn.text
        named = "{to}" in text or M in text or I in text
        if turn.role == "filler" and not named and rng.random() < 0.08:
            text = _address(text, "{to}")
        text = text.replace("{to}", _other(turn.speaker))
        fixed.append(_Turn(turn.speaker, text, turn.role, turn.key))
    return _Session(f"s{index + 1:02d}", day, start, tuple(fixed))


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9£]+", text.lower())


def _shared_4gram(a: str, b: str) -> str | None:
    ta, tb = _tokens(a), _tokens(b)
    grams = {tuple(tb[i : i + 4]) for i in range(len(tb) - 3)}
    for i in range(len(ta) - 3):
        if tuple(ta[i : i + 4]) in grams:
            return " ".join(ta[i : i + 4])
    return None


@dataclass(frozen=True)
class _Built:
    labelled: LabelledSet
    roles: dict[str, str]  # item id -> filler, chatter or fact


def _generate(seed: int = SEED) -> _Built:
    rng = random.Random(seed)
    dog, dog_reason = rng.choice(DOG_NAMES)
    names = {"dog": dog, "dog_reason": dog_reason}

    keys = [f.key for f in FACTS]
    assert len(keys) == len(set(keys)), "duplicate fact keys"
    by_key = {f.key: f for f in FACTS}
    by_session: dict[int, list[_Fact]] = {}
    for fact in FACTS:
        assert 1 <= fact.session <= len(DATES), fact.key
        assert "{dog" not in "".join(fact.say + fact.react + fact.ask) or fact.session >= 5
        by_session.setdefault(fact.session, []).append(fact)

    resolved = [
        _Fact(
            key=f.key,
            session=f.session,
            who=f.who,
            say=tuple(s.format_map(names) for s in f.say),
            ask=tuple(s.format_map(names) for s in f.ask),
            need_ask=f.need_ask,
            react=tuple(s.format_map(names) for s in f.react),
            more=tuple(s.format_map(names) for s in f.more),
            mood=f.mood,
            topic=f.topic,
            questions=f.questions,
            role=f.role,
        )
        for f in FACTS
    ]
    resolved_by_session: dict[int, list[_Fact]] = {}
    for fact in resolved:
        resolved_by_session.setdefault(fact.session, []).append(fact)

    talk = {arc: list(entries) for arc, entries in TALK.items()}
    sessions = [
        _session(rng, i, resolved_by_session.get(i + 1, []), talk) for i in range(len(DATES))
    ]

    items: list[Item] = []
    roles: dict[str, str] = {}
    fact_item: dict[str, str] = {}
    for session in sessions:
        title = f"Chat with {M} and {I}, {session.day.day} {MONTHS[session.day.month - 1]} 2025"
        at = session.start.timestamp()
        for n, turn in enumerate(session.turns):
            if n:
                at += rng.uniform(20, 90)
            item_id = f"session:{session.sid}#{n}"
            items.append(
                Item(
                    id=item_id,
                    text=f"{turn.speaker}: {turn.text}",
                    title=title,
                    session=session.sid,
                    turn=n,
                    at=round(at, 1),
                    speaker=turn.speaker,
                    role=turn.role,
                )
            )
            roles[item_id] = turn.role
            if turn.key:
                assert turn.key not in fact_item, f"fact {turn.key} said twice"
                fact_item[turn.key] = item_id

    month = {f.key: MONTHS[DATES[f.session - 1][0] - 1] for f in FACTS}
    fmt = {**names, "month": month}
    pending: list[tuple[str, str, tuple[str, ...]]] = [
        (kind, text, (f.key,)) for f in FACTS for kind, text in f.questions
    ]
    pending += list(CROSS)

    text_of = {item.id: item.text for item in items}
    questions: list[Question] = []
    for kind, raw, evidence_keys in pending:
        assert kind in KINDS, raw
        text = raw.format_map(fmt)
        ids = tuple(fact_item[k] for k in evidence_keys)
        for key, item_id in zip(evidence_keys, ids, strict=True):
            assert roles[item_id] == "fact", f"{item_id} is {roles[item_id]}, not a fact"
            # Every variant of the answering turn, not only the one drawn, must be paraphrased.
            for variant in [text_of[item_id], *(s.format_map(names) for s in by_key[key].say)]:
                shared = _shared_4gram(text, variant)
                assert shared is None, f"question copies {shared!r} from {key}: {text}"
        questions.append(Question(text, kind, tuple(Evidence(i) for i in ids)))

    texts = [q.text for q in questions]
    assert len(texts) == len(set(texts)), "duplicate questions"
    ids_all = [item.id for item in items]
    assert len(ids_all) == len(set(ids_all)), "duplicate item ids"
    known = set(ids_all)
    for question in questions:
        for ev in question.evidence:
            assert ev.item in known, ev.item
            assert roles[ev.item] != "filler", f"filler turn {ev.item} is evidence"

    labelled = LabelledSet(
        name="conversations",
        store="conversations",
        items=items,
        questions=questions,
        about=(
            f"{len(sessions)} dated chats (January to September 2025) between {M} and {I}, "
            f"{len(items)} turns, {len(questions)} questions labelled by the turns that "
            "answer them; synthetic, LoCoMo-style, generated with a fixed seed"
        ),
        asked_at=max(item.at for item in items) + 86400,  # the day after the last chat
    )
    return _Built(labelled, roles)


def build() -> LabelledSet:
    """The `conversations` set: every turn an item, questions labelled by answering turns."""
    return _generate().labelled


def _summary(built: _Built, out: Callable[[str], None] = print) -> None:
    data = built.labelled
    items, questions = data.items, data.questions
    sessions = Counter(item.session for item in items)
    roles = Counter(built.roles.values())
    kinds = Counter(q.kind for q in questions)
    named = sum(1 for item in items if M in item.text or I in item.text)
    addressed = sum(1 for item in items if M in item.text[7:] or I in item.text[7:])
    evidence = {ev.item for q in questions for ev in q.evidence}
    asks_speaker = sum(1 for q in questions if M in q.text or I in q.text)
    first = min(item.at for item in items)
    last = max(item.at for item in items)
    short = sum(
        1 for item in items if built.roles[item.id] == "filler" and len(item.text.split()) <= 4
    )
    out(f"{data.name}: {data.about}")
    out(
        f"sessions: {len(sessions)} ({min(sessions.values())}-{max(sessions.values())} turns "
        f"each), from {datetime.fromtimestamp(first, UTC):%d %b %Y} "
        f"to {datetime.fromtimestamp(last, UTC):%d %b %Y}"
    )
    out(f"turns: {len(items)}")
    for role in ("filler", "chatter", "fact"):
        out(f"  {role:8} {roles[role]:5}  {roles[role] / len(items):6.1%}")
    out(f"  short filler (4 words or fewer with the name): {short}")
    out(f"  evidence turns: {len(evidence)}")
    out(f"turns containing a speaker's name: {named / len(items):.1%}")
    out(f"turns whose utterance names a speaker: {addressed / len(items):.1%}")
    out(f"questions: {len(questions)}")
    for kind in KINDS:
        out(f"  {kind:11} {kinds[kind]:4}")
    multi = sum(1 for q in questions if len(q.evidence) > 1)
    out(f"  with 2+ evidence turns: {multi}")
    out(f"  naming Maren or Idris: {asks_speaker / len(questions):.1%}")


if __name__ == "__main__":
    _summary(_generate())
