"""The notes set: 56 short notes of a personal memory, 51 questions.

Appliance repairs with part numbers, invoices, people, bookings, error codes, documents, and
everyday notes on gardening, cooking, sleep, money...; several of them look-alikes on
purpose (DW-2291-B and WM-2291-D, INV-2024-0117 and INV-2023-0117, QX7P2M and QX7M2P). Each
question is labelled with the note that answers it:

- paraphrase: asked in other words than the note's ("how can I keep insects off my
  flowers?" for a note on aphids and marigolds), which is what embeddings are for;
- identifier: asked by an exact part number, invoice number, booking code, error code,
  serial number, person's name or date, which embeddings blur into their look-alikes.

Each note is one chunk; an item's id is its file name.
"""

from __future__ import annotations

from bench.recall_sets import Evidence, Item, LabelledSet, Question

NOTES = {
    # appliance repairs: part numbers that differ by a letter or a digit
    "dishwasher-repair.md": "# Dishwasher repair\n\nThe drain pump of the dishwasher failed in "
    "March and the kitchen floor got wet. I ordered the replacement part DW-2291-B from "
    "PartsDirect for 48 euros. It arrived on 14 March 2024 and the gurgling noise is gone.",
    "washing-machine.md": "# Washing machine\n\nThe door seal of the washing machine was torn, "
    "so water leaked onto the bathroom floor. The replacement seal WM-2291-D cost 35 euros; "
    "Tomasz fitted it in April.",
    "fridge.md": "# Fridge\n\nThe fridge kept everything half frozen. Its thermostat was "
    "replaced with part FR-2219-B, ordered on 2 May 2024 from the manufacturer's shop for 62 "
    "euros.",
    "oven.md": "# Oven\n\nThe oven stopped heating from below. The electrician swapped the lower "
    "heating element, part OV-2912-B, for 95 euros including labour.",
    "tumble-dryer.md": "# Tumble dryer\n\nThe lint filter of the tumble dryer cracked. A spare "
    "filter DR-2291-8 is on order: 12 euros, delivery in ten days.",
    "robot-vacuum.txt": "Robot vacuum: the side brushes wore out. Spare brush kit RV-9921-B, a "
    "pack of four for 19 euros. Change them every three months.",
    # invoices with look-alike numbers
    "hosting-invoice.md": "# Hosting\n\nInvoice INV-2024-0117: web hosting of the family "
    "website for March 2024, 29.90 euros, paid by card on 2 April 2024. The provider is "
    "Hostelia.",
    "domain-invoice.md": "# Domain name\n\nInvoice INV-2024-0171 for renewing the domain name "
    "for two years: 24 euros, paid on 9 January 2024.",
    "accountant-invoice.md": "# Accountant\n\nInvoice INV-2023-0117 from the accountant for "
    "the 2022 tax return: 180 euros, paid late on 20 February 2023.",
    "toner-invoice.txt": "Printer toner order, invoice INV-2024-1017: two black cartridges for "
    "71 euros, delivered on 30 October 2024.",
    "piano-invoice.txt": "Piano lessons for the autumn term, invoice INV-2024-0711: 240 euros "
    "for twelve lessons, due on 15 September.",
    # people
    "dentist.md": "# Dentist\n\nDr Anneliese Okonkwo is my dentist, at the practice on Rue "
    "Garibaldi. Check-up and cleaning every six months; the next one is on 5 November at 9:30.",
    "plumber.md": "# Plumber\n\nTomasz Wierzbicki is the plumber who fixed the leaking kitchen "
    "sink. Reliable, 55 euros an hour. Phone 06 12 48 90 33.",
    "manager.md": "# Work\n\nAna Ferreira has been my manager since January. We have a "
    "one-to-one every Thursday at 10, and she wants the quarterly report by the last Friday "
    "of each quarter.",
    "running-coach.md": "# Running club\n\nPriya Raghunathan coaches the Saturday running group "
    "in the park. She suggested intervals on Tuesdays and one long slow run on Sundays.",
    "landlord.md": "# Flat\n\nThe landlord is Henrik Solberg. The rent of 920 euros is due on "
    "the 3rd of each month by bank transfer; the lease runs until 31 August 2026.",
    "piano-teacher.md": "# Piano\n\nMei-Ling Chou teaches my daughter piano on Wednesdays after "
    "school. She recommends twenty minutes of practice a day, scales before pieces.",
    "vet.md": "# Vet\n\nDr Bastien Morel at the Croix-Rousse veterinary clinic looks after "
    "Miso, our cat. The yearly vaccine is due each March; Miso weighs 4.2 kg.",
    # bookings, two with look-alike references
    "lisbon-trip.md": "# Lisbon trip\n\nFlight to Lisbon on 12 June 2024, TAP flight TP 441, "
    "leaving Lyon at 07:35. Booking reference QX7P2M. One cabin bag each.",
    "oslo-conference.md": "# Oslo conference\n\nFlight to Oslo for the conference on 3 "
    "September 2024, booking reference QX7M2P, SAS flight SK 4602 via Copenhagen.",
    "milan-train.md": "# Milan by train\n\nTrain to Milan on 21 July, ticket code TRN-88213, "
    "coach 7, seats 45 and 46, leaving Lyon Part-Dieu at 08:12.",
    "porto-hotel.md": "# Porto hotel\n\nHotel by the river in Porto from 15 to 18 June, "
    "confirmation number 5523-8817-HP, breakfast included, free cancellation until 10 June.",
    "sardinia-car.txt": "Car rental in Sardinia, reservation RC-19450-SA: a small car with air "
    "conditioning, picked up at Olbia airport on 2 August and returned on 9 August.",
    # computers and error codes
    "home-server.md": "# Home server\n\nUpgraded Nextcloud on the home server to version "
    "27.1.4 on 3 February, after a full backup. The calendar app had to be enabled again.",
    "router.md": "# Router\n\nThe router's firmware is now 1.0.11.96. The guest Wi-Fi network "
    "is called Hortensia and its password is on the fridge door.",
    "database.md": "# Database\n\nThe PostgreSQL database of the side project went from 15.4 "
    "to 16.2 with pg_upgrade; it took eleven minutes and nothing was lost.",
    "nas.md": "# NAS\n\nError ERR-4021 on the NAS means the backup disk is full: delete old "
    "snapshots or add a disk.",
    "printer.md": "# Printer\n\nError ERR-4012 on the printer means a paper jam in tray 2: "
    "open the back cover and pull the sheet out gently.",
    "laptop.md": "# Laptop\n\nThe laptop battery lasts only two hours now. The warranty ends "
    "on 30 November 2024 (serial number PF3K9Q2X): ask for a replacement before then.",
    # papers and numbers
    "car.md": "# Car\n\nThe car's licence plate is GE-482-KT. Insurance policy AX-77310928 "
    "with Allianz renews every 1 October; the technical inspection is due in May 2025.",
    "bike-papers.txt": "Bike frame serial number WTU118-4467C, registered with Bicycode in "
    "case it is stolen. Bought second-hand in 2021 for 450 euros.",
    "passport.md": "# Passport\n\nPassport number 19FK30412, issued in Lyon, expires on 22 "
    "August 2031. Keep a photocopy in the travel folder.",
    "taxes.md": "# Taxes\n\nThe income tax return is due online by 23 May. Last year's refund "
    "of 312 euros arrived in late July.",
    "electricity.md": "# Electricity\n\nElectricity contract with Ekwateur, customer number "
    "5081-2277-49. Winter bills were about 140 euros a month, summer ones about 60.",
    # everyday notes
    "garden.md": "# Garden\n\nAphids were all over the roses this spring. Planting marigolds "
    "and nasturtiums next to the beds kept them away, and ladybirds did the rest.",
    "tomatoes.md": "# Tomatoes\n\nTomatoes need six to eight hours of sun. Water deeply at the "
    "base twice a week rather than a little every day, and never wet the leaves.",
    "sourdough.md": "# Sourdough\n\nFeed the starter the evening before. Mix 500 g flour, 350 g "
    "water, 100 g starter and 10 g salt; fold four times, let it rise overnight in the fridge, "
    "bake at 240 °C.",
    "risotto.txt": "Risotto: soften an onion in butter, toast the rice, add a glass of white "
    "wine, then warm stock one ladle at a time, stirring, for about eighteen minutes. Finish "
    "with parmesan.",
    "bike-care.md": "# Bike maintenance\n\nClean and oil the chain every 300 kilometres, more "
    "often after rain. Tyre pressure 4.5 bar at the front, 5 at the back.",
    "sleep.md": "# Sleep\n\nFalling asleep got easier once I stopped looking at screens after "
    "22:00, kept the bedroom cool and got up at the same time every day, weekends included.",
    "savings.md": "# Savings\n\nThe plan: put 15 percent of each salary into the savings "
    "account on payday, before spending anything, and keep three months of expenses aside.",
    "spanish.md": "# Learning Spanish\n\nTwenty minutes of flashcards every morning, one "
    "podcast episode on the commute, and a conversation class on Monday evenings.",
    "heating.md": "# Heating\n\nWhen a radiator is cold at the top, bleed it: turn the small "
    "valve with the key until water comes out instead of air, then check that the boiler "
    "pressure is back near 1.5 bar.",
    "houseplants.md": "# Houseplants\n\nThe fiddle-leaf fig drops its leaves when it is moved "
    "or overwatered. Water it only when the top five centimetres of soil are dry, and keep it "
    "by the east window.",
    "coffee.md": "# Coffee\n\nFor filter coffee use 60 grams of beans per litre of water, "
    "ground medium, with water just off the boil at about 94 °C.",
    "back.md": "# Back\n\nThe physiotherapist suggested cat-cow stretches and bridges every "
    "morning, and standing up from the desk every half hour, to ease the lower back pain.",
    "moving.md": "# Moving house\n\nBefore the move: change the address at the bank and the "
    "insurer, have the post forwarded for six months, read the meters on the last day, and "
    "book the lift.",
    "presents.md": "# Presents\n\nIdeas for my sister's birthday: a pottery class, the new "
    "novel by her favourite author, or a good pair of hiking socks.",
    "camping.md": "# Camping list\n\nTent, sleeping bags, mats, the small gas stove and a spare "
    "cartridge, head torches, a water filter and the first-aid kit.",
    "photography.md": "# Photography\n\nThe best light for portraits outdoors is the hour "
    "after sunrise and the hour before sunset; avoid the harsh midday sun or find shade.",
    "project-meeting.md": "# Project meeting, 8 October\n\nWe agreed to move the launch of the "
    "mobile app to January because the payment provider is late. The budget stays the same; "
    "Jonas writes the announcement.",
    "book-club.md": "# Book club\n\nThe book club meets on the first Tuesday of the month at "
    "Lucia's. Next book: a novel about a lighthouse keeper on a remote Scottish island.",
    "half-marathon.md": "# Half marathon\n\nTraining for the half marathon in April: three "
    "runs a week, building the long run up to 18 km, and tapering in the last ten days.",
    "cat.md": "# Miso the cat\n\nMiso eats 50 grams of dry food a day in two meals, and wet "
    "food on Sundays. No milk for her.",
    "internet.md": "# Internet\n\nThe internet slowed down every evening. Moving the router off "
    "the floor onto the bookshelf and switching to the 5 GHz band fixed it.",
    "recycling.md": "# Recycling\n\nGlass goes to the bottle bank at the corner, cardboard and "
    "plastic into the yellow bin (collected on Thursday mornings), food scraps to the compost.",
}


def paraphrase(text: str, answer: str) -> Question:
    return Question(text, "paraphrase", (Evidence(answer),))


def identifier(text: str, answer: str) -> Question:
    return Question(text, "identifier", (Evidence(answer),))


QUESTIONS = (
    paraphrase("How can I keep insects off my flowers?", "garden.md"),
    paraphrase("How often should the vegetable plants get a drink?", "tomatoes.md"),
    paraphrase("What are the proportions for a loaf made with natural yeast?", "sourdough.md"),
    paraphrase("How do I cook a creamy Italian rice dish?", "risotto.txt"),
    paraphrase("How do I look after my bicycle's drivetrain?", "bike-care.md"),
    paraphrase("What helped me get a better night's rest?", "sleep.md"),
    paraphrase("How much of my pay should I put away each month?", "savings.md"),
    paraphrase("What is my routine for picking up a foreign language?", "spanish.md"),
    paraphrase("One of the heaters stays cold at the top, what should I do?", "heating.md"),
    paraphrase("Why does my indoor tree keep shedding?", "houseplants.md"),
    paraphrase("What ratio of grounds to water do I use when brewing?", "coffee.md"),
    paraphrase("Which exercises did the physio give me for my spine?", "back.md"),
    paraphrase("What paperwork do I need to do before relocating?", "moving.md"),
    paraphrase("What could I give my sibling for her special day?", "presents.md"),
    paraphrase("What gear do I need for a night outdoors in the wild?", "camping.md"),
    paraphrase(
        "When is the nicest time of day to take pictures of people outside?", "photography.md"
    ),
    paraphrase("Why was the phone application's release postponed?", "project-meeting.md"),
    paraphrase("When does the reading group get together?", "book-club.md"),
    paraphrase("How am I preparing for the 21 km race?", "half-marathon.md"),
    paraphrase("How much should the kitty be fed?", "cat.md"),
    paraphrase("The connection gets sluggish at night: how did I fix it?", "internet.md"),
    paraphrase("Where does the rubbish go and when is it picked up?", "recycling.md"),
    paraphrase("Who looks after my teeth?", "dentist.md"),
    paraphrase("Who is my boss?", "manager.md"),
    paraphrase("When must I pay for the apartment each month?", "landlord.md"),
    identifier("What is part DW-2291-B for?", "dishwasher-repair.md"),
    identifier("What did I buy with order WM-2291-D?", "washing-machine.md"),
    identifier("Which appliance needed FR-2219-B?", "fridge.md"),
    identifier("What is OV-2912-B?", "oven.md"),
    identifier("What is RV-9921-B?", "robot-vacuum.txt"),
    identifier("When did I pay INV-2024-0117?", "hosting-invoice.md"),
    identifier("What was invoice INV-2023-0117 for?", "accountant-invoice.md"),
    identifier("What did invoice INV-2024-1017 cover?", "toner-invoice.txt"),
    identifier("Who is Anneliese Okonkwo?", "dentist.md"),
    identifier("What is Tomasz Wierzbicki's phone number?", "plumber.md"),
    identifier("When do I meet Ana Ferreira?", "manager.md"),
    identifier("What did Priya Raghunathan suggest?", "running-coach.md"),
    identifier("What does Mei-Ling Chou recommend?", "piano-teacher.md"),
    identifier("Which trip is booking QX7P2M?", "lisbon-trip.md"),
    identifier("Which flight has booking reference QX7M2P?", "oslo-conference.md"),
    identifier("Which seats go with ticket TRN-88213?", "milan-train.md"),
    identifier("What is confirmation 5523-8817-HP?", "porto-hotel.md"),
    identifier("What does ERR-4021 mean?", "nas.md"),
    identifier("How do I clear ERR-4012?", "printer.md"),
    identifier("When does policy AX-77310928 renew?", "car.md"),
    identifier("When does passport 19FK30412 expire?", "passport.md"),
    identifier("Is PF3K9Q2X still under warranty?", "laptop.md"),
    identifier("Which contract has customer number 5081-2277-49?", "electricity.md"),
    identifier("What did I do on 3 February with version 27.1.4?", "home-server.md"),
    identifier("What happened on 14 March 2024?", "dishwasher-repair.md"),
    identifier("Where is frame WTU118-4467C registered?", "bike-papers.txt"),
)


def build() -> LabelledSet:
    items = [Item(name, text + "\n") for name, text in NOTES.items()]
    return LabelledSet(
        "notes",
        "documents",
        items,
        list(QUESTIONS),
        "56 personal notes (part numbers, invoices, people, bookings, everyday notes), "
        "51 questions: paraphrases and exact identifiers",
    )
