"""The labelled tool-calling cases: what a user asks, and the calls a good answer makes.

Written for this project (no public leaderboard's data). Each case is one user message and
the calls its first step should make — or none — and, for a multi-step case, the calls of
the step after the first results. The kinds:

- one call: one tool, plain arguments
- choose: the right tool among look-alikes (weather now or forecast, add or multiply, …)
- two calls: two calls (the same tool twice, or two tools), in one step or one after the
  other
- multi-step: the second call needs the first one's result (where am I → its weather)
- careful: arguments that need care — an enum value, a nested object, a list, a date, a
  boolean, a number written in words; and, in every kind, optional arguments the user did
  not give, which a right call leaves to the tool's default (`Default`)
- no tool: nothing offered answers it (facts, writing, chit-chat, questions that only
  sound like a tool's: a game's score, a stock tip, a recipe); a quarter of the set and more

`DOCTOR` is the short set `rung doctor --model` runs; `ALL` is the whole set that
`bench/tool_calling` runs on a real small model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rung.tools.base import ToolSpec


def _spec(tool: str, description: str, **properties: str) -> ToolSpec:
    """A tool with required string/number properties: `city="string"`."""
    return ToolSpec(
        tool,
        description,
        {
            "type": "object",
            "properties": {p: {"type": t} for p, t in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = [
    _spec("get_weather", "The current weather in a city.", city="string"),
    _spec("get_forecast", "The weather forecast for a city for the coming days.", city="string"),
    _spec("add_numbers", "Add two numbers exactly.", a="number", b="number"),
    _spec("multiply_numbers", "Multiply two numbers exactly.", a="number", b="number"),
    _spec("send_email", "Send an email.", to="string", subject="string", body="string"),
    _spec("search_email", "Search the user's mailbox for messages.", query="string"),
    _spec("create_event", "Put an event in the calendar.", title="string", date="string"),
    _spec("list_events", "List the calendar's events on a date.", date="string"),
    _spec("convert_currency", "Convert money.", amount="number", source="string", target="string"),
    _spec("translate_text", "Translate text into a language.", text="string", language="string"),
    _spec("get_time", "The current time in a time zone.", timezone="string"),
    _spec("set_timer", "Start a countdown timer.", minutes="number"),
]
MORE_TOOLS = [
    ToolSpec(
        "get_location",
        "Where the user is now (city, country).",
        {"type": "object", "properties": {}},
    ),
    _spec("lookup_contact", "A contact's email address and phone number, by name.", name="string"),
    ToolSpec(
        "set_thermostat",
        "Set a room's heating or cooling.",
        {
            "type": "object",
            "properties": {
                "room": {"type": "string", "enum": ["living room", "bedroom", "kitchen", "office"]},
                "temperature": {"type": "number", "description": "degrees Celsius"},
                "mode": {"type": "string", "enum": ["heat", "cool", "auto"]},
            },
            "required": ["room", "temperature"],
        },
    ),
    ToolSpec(
        "add_to_list",
        "Add items to one of the user's lists.",
        {
            "type": "object",
            "properties": {
                "list_name": {"type": "string", "enum": ["shopping", "todo", "packing"]},
                "items": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["list_name", "items"],
        },
    ),
    ToolSpec(
        "create_reminder",
        "Remind the user of something at a date and time.",
        {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "when": {
                    "type": "object",
                    "properties": {
                        "date": {"type": "string", "description": "YYYY-MM-DD"},
                        "time": {"type": "string", "description": "HH:MM, 24-hour"},
                    },
                    "required": ["date", "time"],
                },
            },
            "required": ["text", "when"],
        },
    ),
    ToolSpec(
        "search_flights",
        "Search flights between two cities on a date.",
        {
            "type": "object",
            "properties": {
                "origin": {"type": "string"},
                "destination": {"type": "string"},
                "date": {"type": "string", "description": "YYYY-MM-DD"},
                "cabin": {"type": "string", "enum": ["economy", "premium", "business", "first"]},
                "passengers": {"type": "integer"},
            },
            "required": ["origin", "destination", "date"],
        },
    ),
    ToolSpec(
        "play_music",
        "Play music by a query (artist, album, song, genre).",
        {
            "type": "object",
            "properties": {"query": {"type": "string"}, "shuffle": {"type": "boolean"}},
            "required": ["query"],
        },
    ),
    ToolSpec(
        "convert_units",
        "Convert a measurement between units.",
        {
            "type": "object",
            "properties": {
                "value": {"type": "number"},
                "from_unit": {"type": "string", "enum": ["km", "mi", "kg", "lb", "C", "F"]},
                "to_unit": {"type": "string", "enum": ["km", "mi", "kg", "lb", "C", "F"]},
            },
            "required": ["value", "from_unit", "to_unit"],
        },
    ),
]
OPTIONAL_TOOLS = [  # every argument optional, with the user's own default: a small model
    # fills them by reflex (`timezone="UTC"` for "what's the date?")
    ToolSpec(
        "get_date",
        "Today's date and weekday, in a time zone (the user's own unless one is given).",
        {
            "type": "object",
            "properties": {"timezone": {"type": "string", "default": "local"}},
            "required": [],
        },
    ),
    ToolSpec(
        "get_news",
        "The latest news headlines: the top stories, or on a topic.",
        {
            "type": "object",
            "properties": {
                "topic": {"type": "string", "default": "top stories"},
                "count": {"type": "integer", "default": 5},
            },
            "required": [],
        },
    ),
    ToolSpec(
        "list_tasks",
        "The user's open tasks: all of them, or those with a tag or due by a date.",
        {
            "type": "object",
            "properties": {
                "tag": {"type": "string"},
                "due_by": {"type": "string", "description": "YYYY-MM-DD"},
            },
        },
    ),
]
DISTRACTORS = [
    _spec(f"{area}_{verb}", f"{verb.capitalize()} {area.replace('_', ' ')} items.", id="string")
    for area in ("inventory", "git_repo", "printer_queue", "smart_plug", "podcast", "recipe_box")
    for verb in ("list", "archive", "restore", "export")
]
ANSWERS = {  # what the stand-in tools answer, where a next step needs it
    "get_location": "Lyon, France",
    "lookup_contact": "{name}: {name_lower}@example.com, +33 6 12 34 56 78",
    "search_email": "1 message: from ana@example.com, subject 'Invoice for March', id msg-7",
    "list_events": "10:00 Dentist; 15:00 Call with Bob",
    "get_time": "14:05",
    "get_weather": "Rain, 9 °C",
}


@dataclass(frozen=True)
class Default:
    """An argument the user did not give: a right call leaves it out, or gives the tool's
    own default `value`."""

    value: Any = None


@dataclass(frozen=True)
class Expected:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)  # values that must be there

    @property
    def given(self) -> dict[str, Any]:
        """The arguments a right call writes (not those left to the tool's default)."""
        return {k: v for k, v in self.arguments.items() if not isinstance(v, Default)}


@dataclass(frozen=True)
class Case:
    kind: str  # "one call", "choose", "two calls", "multi-step", "careful", "no tool"
    message: str
    calls: tuple[Expected, ...] = ()  # the first step's
    then: tuple[Expected, ...] = ()  # the second step's, after the first results


def _one(tool: str, /, **arguments: Any) -> Expected:
    return Expected(tool, arguments)


def _case(kind: str, message: str, *calls: Expected, then: tuple[Expected, ...] = ()) -> Case:
    return Case(kind, message, tuple(calls), then)


def _no(*messages: str) -> tuple[Case, ...]:
    return tuple(Case("no tool", m) for m in messages)


DOCTOR: tuple[Case, ...] = (
    _case("one call", "What's the weather like in Lyon right now?", _one("get_weather", city="Lyon")),
    _case("one call", "Add 1234 and 5678 for me.", _one("add_numbers", a=1234, b=5678)),
    _case("one call", "What time is it in Tokyo?", _one("get_time", timezone="Tokyo")),
    _case("one call", "Start a 10 minute timer.", _one("set_timer", minutes=10)),
    _case("one call", "Translate 'good morning' into Spanish.", _one("translate_text", language="Spanish")),
    _case("one call", "How much is 250 euros in US dollars?", _one("convert_currency", amount=250)),
    _case("one call", "Find the emails from Ana about the invoice.", _one("search_email")),
    _case("one call", "Multiply 37 by 91.", _one("multiply_numbers", a=37, b=91)),
    _case("choose", "Will it rain in Porto over the next three days?", _one("get_forecast", city="Porto")),
    _case("choose", "Is it sunny in Oslo at the moment?", _one("get_weather", city="Oslo")),
    _case("choose", "What's on my calendar on 2026-12-03?", _one("list_events", date="2026-12-03")),
    _case(
        "choose",
        "Put 'Dentist' in my calendar on 2026-12-04.",
        _one("create_event", title="Dentist", date="2026-12-04"),
    ),
    _case(
        "choose",
        "Email bob@example.com with subject 'Lunch' and say I'm running late.",
        _one("send_email", to="bob@example.com"),
    ),
    _case("choose", "Did Carla ever email me about the lease?", _one("search_email")),
    _case("choose", "What is 19 times 23?", _one("multiply_numbers", a=19, b=23)),
    _case("choose", "What is 19 plus 23?", _one("add_numbers", a=19, b=23)),
    _case(
        "two calls",
        "What's the weather right now in Paris and in Rome?",
        _one("get_weather", city="Paris"),
        _one("get_weather", city="Rome"),
    ),
    _case(
        "two calls",
        "What time is it in London and in New York?",
        _one("get_time", timezone="London"),
        _one("get_time", timezone="New York"),
    ),
    _case(
        "two calls",
        "Add 2 and 3, and also multiply 4 by 5.",
        _one("add_numbers", a=2, b=3),
        _one("multiply_numbers", a=4, b=5),
    ),
    _case(
        "two calls",
        "Set a 5 minute timer and tell me the weather in Berlin now.",
        _one("set_timer", minutes=5),
        _one("get_weather", city="Berlin"),
    ),
    *_no(
        "Say hello in French.",
        "What is the capital of Italy?",
        "Write a haiku about autumn.",
        "Thanks, that's all for now!",
    ),
)  # fmt: skip

MORE: tuple[Case, ...] = (
    # --- one call ---
    _case("one call", "How warm is it in Madrid today?", _one("get_weather", city="Madrid")),
    _case("one call", "Weather in Nairobi please", _one("get_weather", city="Nairobi")),
    _case("one call", "What's the forecast for Dublin this week?", _one("get_forecast", city="Dublin")),
    _case("one call", "Sum 88 and 12.", _one("add_numbers", a=88, b=12)),
    _case("one call", "What's 4096 multiplied by 3?", _one("multiply_numbers", a=4096, b=3)),
    _case("one call", "Time in Sydney?", _one("get_time", timezone="Sydney")),
    _case("one call", "Set a timer for 25 minutes.", _one("set_timer", minutes=25)),
    _case("one call", "Translate 'where is the station' to German.", _one("translate_text", language="German")),
    _case("one call", "Convert 99 dollars to yen.", _one("convert_currency", amount=99)),
    _case("one call", "Look for messages about the plumber in my inbox.", _one("search_email")),
    _case("one call", "What's in my calendar for 2027-01-15?", _one("list_events", date="2027-01-15")),
    _case("one call", "Where am I right now?", _one("get_location")),
    _case("one call", "What's Priya's email address?", _one("lookup_contact", name="Priya")),
    _case("one call", "Play some jazz.", _one("play_music", query="jazz")),
    _case("one call", "Find me flights from Paris to Lisbon on 2027-02-10.", _one("search_flights", origin="Paris", destination="Lisbon", date="2027-02-10")),
    _case("one call", "Put milk on the shopping list.", _one("add_to_list", list_name="shopping", items=["milk"])),
    _case("one call", "Heat the bedroom to 20 degrees.", _one("set_thermostat", room="bedroom", temperature=20)),
    _case("one call", "How many miles is 42 km?", _one("convert_units", value=42, from_unit="km", to_unit="mi")),
    _case("one call", "Phone number of Tomasz?", _one("lookup_contact", name="Tomasz")),
    _case("one call", "Schedule 'Team lunch' on 2026-12-18.", _one("create_event", title="Team lunch", date="2026-12-18")),
    _case("one call", "Translate 'thank you very much' into Japanese.", _one("translate_text", language="Japanese")),
    _case("one call", "Is it snowing in Zurich now?", _one("get_weather", city="Zurich")),
    _case("one call", "What's today's date?", _one("get_date", timezone=Default("local"))),
    _case("one call", "What's in the news?", _one("get_news", topic=Default("top stories"), count=Default(5))),
    _case("one call", "Show me my open tasks.", _one("list_tasks", tag=Default(), due_by=Default())),
    # --- choose ---
    _case("choose", "What day of the week is it today?", _one("get_date", timezone=Default("local"))),
    _case("choose", "Any headlines this morning?", _one("get_news", topic=Default("top stories"), count=Default(5))),
    _case("choose", "What's still on my to-do list?", _one("list_tasks", tag=Default(), due_by=Default())),
    _case("choose", "What's the date in Tokyo right now?", _one("get_date", timezone="Tokyo")),
    _case("choose", "Do I need an umbrella in Paris tomorrow?", _one("get_forecast", city="Paris")),
    _case("choose", "How cold is it in Helsinki right now?", _one("get_weather", city="Helsinki")),
    _case("choose", "What is 12 times 12?", _one("multiply_numbers", a=12, b=12)),
    _case("choose", "12 plus 12?", _one("add_numbers", a=12, b=12)),
    _case("choose", "Add 'Book club' to my calendar on 2027-03-01.", _one("create_event", title="Book club", date="2027-03-01")),
    _case("choose", "Am I free on 2027-03-01?", _one("list_events", date="2027-03-01")),
    _case("choose", "Send an email to mei@example.com saying the keys are under the mat.", _one("send_email", to="mei@example.com")),
    _case("choose", "Has the landlord written to me about the heating?", _one("search_email")),
    _case("choose", "Remind me to call mum on 2026-12-20 at 18:00.", _one("create_reminder", text="call mum", when={"date": "2026-12-20", "time": "18:00"})),
    _case("choose", "Put 'Call mum' in the calendar on 2026-12-20.", _one("create_event", title="Call mum", date="2026-12-20")),
    _case("choose", "Add eggs and flour to the shopping list.", _one("add_to_list", list_name="shopping", items=["eggs", "flour"])),
    _case("choose", "How much is 100 pounds in euros?", _one("convert_currency", amount=100)),
    _case("choose", "How much is 100 pounds in kilograms?", _one("convert_units", value=100, from_unit="lb", to_unit="kg")),
    _case("choose", "Start a 3 minute timer for the eggs.", _one("set_timer", minutes=3)),
    _case("choose", "Is it 9 in the evening in Los Angeles already?", _one("get_time", timezone="Los Angeles")),
    # --- two calls ---
    _case("two calls", "Weather in Oslo and in Bergen right now?", _one("get_weather", city="Oslo"), _one("get_weather", city="Bergen")),
    _case("two calls", "Add 10 and 20, and add 30 and 40.", _one("add_numbers", a=10, b=20), _one("add_numbers", a=30, b=40)),
    _case("two calls", "Time in Paris and in Seoul?", _one("get_time", timezone="Paris"), _one("get_time", timezone="Seoul")),
    _case("two calls", "Translate 'hello' into Italian and into Dutch.", _one("translate_text", language="Italian"), _one("translate_text", language="Dutch")),
    _case("two calls", "Forecast for Vienna and the current weather in Prague.", _one("get_forecast", city="Vienna"), _one("get_weather", city="Prague")),
    _case("two calls", "What are Ana's and Omar's email addresses?", _one("lookup_contact", name="Ana"), _one("lookup_contact", name="Omar")),
    _case("two calls", "Set a 15 minute timer and play some lo-fi.", _one("set_timer", minutes=15), _one("play_music", query="lo-fi")),
    _case("two calls", "Multiply 6 by 7 and convert 10 euros to dollars.", _one("multiply_numbers", a=6, b=7), _one("convert_currency", amount=10)),
    _case("two calls", "What's on my calendar on 2026-12-24 and on 2026-12-25?", _one("list_events", date="2026-12-24"), _one("list_events", date="2026-12-25")),
    _case("two calls", "Heat the kitchen to 21 and the office to 19.", _one("set_thermostat", room="kitchen", temperature=21), _one("set_thermostat", room="office", temperature=19)),
    _case("two calls", "Search my mail for 'visa' and for 'passport'.", _one("search_email", query="visa"), _one("search_email", query="passport")),
    # --- multi-step ---
    _case("multi-step", "What's the weather where I am?", _one("get_location"), then=(_one("get_weather", city="Lyon"),)),
    _case("multi-step", "What's the forecast for where I am now?", _one("get_location"), then=(_one("get_forecast", city="Lyon"),)),
    _case("multi-step", "Email Priya to say the report is ready.", _one("lookup_contact", name="Priya"), then=(_one("send_email", to="priya@example.com"),)),
    _case("multi-step", "Send Jonas an email with subject 'Keys' saying they're at reception.", _one("lookup_contact", name="Jonas"), then=(_one("send_email", to="jonas@example.com"),)),
    _case("multi-step", "Find the invoice email and reply to its sender that it's paid.", _one("search_email"), then=(_one("send_email", to="ana@example.com"),)),
    _case("multi-step", "Remind me of my first appointment on 2026-12-03, an hour before it.", _one("list_events", date="2026-12-03"), then=(_one("create_reminder", text="Dentist", when={"date": "2026-12-03", "time": "09:00"}),)),
    _case("multi-step", "What time is it where I am?", _one("get_location"), then=(_one("get_time"),)),
    _case("multi-step", "Find Omar's number and add 'call Omar' to my todo list.", _one("lookup_contact", name="Omar"), then=(_one("add_to_list", list_name="todo", items=["call Omar"]),)),
    _case("multi-step", "Check the weather in Lyon and, if it rains, add an umbrella to the packing list.", _one("get_weather", city="Lyon"), then=(_one("add_to_list", list_name="packing", items=["umbrella"]),)),
    _case("multi-step", "Look up Sofia's email and put 'Coffee with Sofia' in my calendar on 2027-01-08.", _one("lookup_contact", name="Sofia"), then=(_one("create_event", title="Coffee with Sofia", date="2027-01-08"),)),
    # --- careful: enums, nested objects, lists, dates, booleans, numbers in words ---
    _case("careful", "Give me 3 news headlines about electric cars.", _one("get_news", topic="electric cars", count=3)),
    _case("careful", "Which of my tasks tagged work are due by 2027-01-10?", _one("list_tasks", tag="work", due_by="2027-01-10")),
    _case("careful", "Set the living room to cool mode at 23 degrees.", _one("set_thermostat", room="living room", temperature=23, mode="cool")),
    _case("careful", "Put the thermostat in the office on auto, 21.5 degrees.", _one("set_thermostat", room="office", temperature=21.5, mode="auto")),
    _case("careful", "Make the bedroom nineteen degrees.", _one("set_thermostat", room="bedroom", temperature=19)),
    _case("careful", "Add passport, charger and sunscreen to my packing list.", _one("add_to_list", list_name="packing", items=["passport", "charger", "sunscreen"])),
    _case("careful", "Add 'renew insurance' to my todo list.", _one("add_to_list", list_name="todo", items=["renew insurance"])),
    _case("careful", "Remind me to water the plants on 2026-12-09 at 08:30.", _one("create_reminder", text="water the plants", when={"date": "2026-12-09", "time": "08:30"})),
    _case("careful", "Remind me at 7pm on 2026-12-11 to take the bins out.", _one("create_reminder", text="bins", when={"date": "2026-12-11", "time": "19:00"})),
    _case("careful", "Business class flights from London to Tokyo on 2027-04-02 for two people.", _one("search_flights", origin="London", destination="Tokyo", date="2027-04-02", cabin="business", passengers=2)),
    _case("careful", "Cheapest economy seat from Berlin to Rome on 2027-05-20.", _one("search_flights", origin="Berlin", destination="Rome", date="2027-05-20", cabin="economy")),
    _case("careful", "Flights Madrid to Dublin, 2027-06-01, three passengers.", _one("search_flights", origin="Madrid", destination="Dublin", date="2027-06-01", passengers=3)),
    _case("careful", "Play Miles Davis on shuffle.", _one("play_music", query="Miles Davis", shuffle=True)),
    _case("careful", "Play the album Blue in order, no shuffle.", _one("play_music", query="Blue", shuffle=False)),
    _case("careful", "Convert 30 degrees Celsius to Fahrenheit.", _one("convert_units", value=30, from_unit="C", to_unit="F")),
    _case("careful", "What is 150 lb in kg?", _one("convert_units", value=150, from_unit="lb", to_unit="kg")),
    _case("careful", "How many kilometres are 26.2 miles?", _one("convert_units", value=26.2, from_unit="mi", to_unit="km")),
    _case("careful", "Add three hundred and twenty to forty-five.", _one("add_numbers", a=320, b=45)),
    _case("careful", "Multiply one thousand by 7.5.", _one("multiply_numbers", a=1000, b=7.5)),
    _case("careful", "Convert 1,500 euros to Swiss francs.", _one("convert_currency", amount=1500)),
    _case("careful", "Set a timer for an hour and a half.", _one("set_timer", minutes=90)),
    _case("careful", "Put 'Flight to Lisbon' in my calendar on the 2nd of February 2027.", _one("create_event", title="Flight to Lisbon", date="2027-02-02")),
    _case("careful", "What's on my calendar on March 5th, 2027?", _one("list_events", date="2027-03-05")),
    _case("careful", "Email legal@example.com, subject 'NDA v2', body: 'Please see the changes.'", _one("send_email", to="legal@example.com", subject="NDA v2")),
    _case("careful", "Translate \"the meeting is moved to Friday\" into Portuguese.", _one("translate_text", text="the meeting is moved to Friday", language="Portuguese")),
    _case("careful", "Remind me on 2027-01-01 at midnight to say happy new year.", _one("create_reminder", text="happy new year", when={"date": "2027-01-01", "time": "00:00"})),
    _case("careful", "Add apples, 2 lemons and oat milk to shopping.", _one("add_to_list", list_name="shopping", items=["apples", "lemons", "oat milk"])),
    _case("careful", "Heat the kitchen, 22 degrees, heating mode.", _one("set_thermostat", room="kitchen", temperature=22, mode="heat")),
    _case("careful", "First class from New York to Paris on 2027-07-14.", _one("search_flights", origin="New York", destination="Paris", date="2027-07-14", cabin="first")),
    _case("careful", "How many pounds is 5 kg?", _one("convert_units", value=5, from_unit="kg", to_unit="lb")),
    _case("careful", "Remind me to pay rent on 2027-01-31 at 09:15.", _one("create_reminder", text="pay rent", when={"date": "2027-01-31", "time": "09:15"})),
    _case("careful", "Economy flights from Oslo to Reykjavik on 2027-08-03 for one adult.", _one("search_flights", origin="Oslo", destination="Reykjavik", date="2027-08-03", cabin="economy", passengers=1)),
    # --- no tool ---
    *_no(
        "Who won the basketball game last night?",
        "Which stock should I buy this year?",
        "What's a good recipe for banana bread?",
        "Tell me a joke about programmers.",
        "What is the boiling point of water at sea level?",
        "Who wrote Pride and Prejudice?",
        "Explain what a black hole is in two sentences.",
        "How are you today?",
        "What does 'serendipity' mean?",
        "Give me three names for a grey cat.",
        "Summarise the plot of Hamlet in one line.",
        "What's the difference between weather and climate?",
        "Is a tomato a fruit or a vegetable?",
        "Write a limerick about a sleepy dog.",
        "Why is the sky blue?",
        "How many legs does a spider have?",
        "What language is spoken in Brazil?",
        "Good night!",
        "Recommend a classic science fiction novel.",
        "What's the plural of 'octopus'?",
        "How do I politely decline a meeting invitation?",
        "What year did the Berlin Wall fall?",
        "Can you explain recursion simply?",
        "What's the tallest mountain in Africa?",
        "Rewrite this more formally: 'gonna be late, sorry'.",
        "Who painted the Mona Lisa?",
        "List three benefits of regular exercise.",
        "What is photosynthesis?",
        "Which planet is closest to the sun?",
        "Give me a motivational quote.",
        "What does HTTP stand for?",
        "How should I store fresh basil?",
        "Suggest a name for a bakery.",
        "What's the opposite of 'generous'?",
        "What did you think of my last idea? Be honest.",
        "What's the score of the football match between Lyon and Marseille?",
        "Who is the current CEO of the company that makes my phone?",
        "Will Bitcoin go up tomorrow?",
        "Ok thanks, that's perfect.",
        "Never mind, I figured it out.",
        "Who was the first person to walk on the moon?",
        "Write a two-line poem about rain.",
        "Why do leap years exist?",
        "How do I write a good news headline?",
        "Any tips for keeping a to-do list short?",
    ),
)  # fmt: skip

ALL: tuple[Case, ...] = DOCTOR + MORE
ALL_TOOLS = [*TOOLS, *MORE_TOOLS, *OPTIONAL_TOOLS]
