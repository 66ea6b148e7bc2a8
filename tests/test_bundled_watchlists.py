"""The bundled watchlists on short sentences written for these tests.

One test per false friend that shares the troop/border vocabulary, and the
plain positives they must not cost. (Tuning figures are in the README; the
labelled sets themselves are not in the repository.)
"""

from pathlib import Path

import pytest

from bot.engine.analyse import analyse
from bot.engine.matcher import Matcher
from bot.engine.watchlist import load_dir
from bot.models import Article

BUNDLED = Path(__file__).resolve().parent.parent / "watchlists"
TROOP, BORDER = "troop-movements", "border-deployments"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    watchlists, errors = load_dir(BUNDLED)
    assert not errors
    return Matcher(watchlists)


def fired(matcher: Matcher, title: str, text: str = "") -> set[str]:
    return {m.watchlist for m in analyse(Article(title=title, text=text), matcher)}


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Russian troops arrive in Belarus for joint drills", "", {TROOP}),
        ("Poland sends 10,000 soldiers to its border with Belarus", "", {TROOP, BORDER}),
        ("Tanks seen moving towards the border near Belgorod", "", {TROOP, BORDER}),
        ("Two warships sailed into the Black Sea on Monday", "", {TROOP}),
        ("Convoy of military equipment heading north", "", {TROOP}),
        ("Army put on standby as floods hit the north", "Soldiers were deployed to help.", {TROOP}),
        ("Russia masses troops near Ukraine's border", "", {BORDER}),
        ("Six landing ships leave the Baltic Sea", "", {TROOP}),
        ("Pentagon puts 8,500 troops on high alert", "", {TROOP}),
        ("Air force to send a squadron of fighter jets to the Pacific", "", {TROOP}),
        ("Navies begin joint exercises in the Black Sea", "", {TROOP}),
        ("Russia pulls some troops back from the border", "", {TROOP}),
        # movement told with particles, platforms seen, levels, orders, relief
        ("Armoured brigades push into the northern district overnight", "", {TROOP}),
        ("Destroyer sets sail for the Gulf after a week in port", "", {TROOP}),
        ("Frigate tracked off the coast for three days", "", {TROOP}),
        ("Government to cut troop levels in Poland by 3,000", "", {TROOP}),
        ("President orders National Guard troops to the capital", "", {TROOP}),
        ("Soldiers battle wildfires in the hills above the city", "", {TROOP}),
        # a build-up around a country is a build-up at its frontier
        ("Satellite images show a military build-up around Moldova", "", {BORDER}),
        ("Security tightened along the Nepal border as soldiers deploy", "", {BORDER}),
        # activation, a told-to-prepare order, state troopers, counter-offensives, returns
        ("Governor activates the National Guard ahead of the storm", "", {TROOP}),
        ("Two brigades told to prepare for deployment to the region", "", {TROOP}),
        ("State sends 200 state troopers to the border with its neighbour", "", {BORDER}),
        ("Government forces recapture the river port after a week", "", {TROOP}),
        ("Marines returning to the island base after a decade away", "", {TROOP}),
        # a plan announced in the headline is an announced deployment, not a hedge
        (
            "Country plans to move more troops to its border",
            "The 5,000 soldiers will be deployed at the border next week.",
            {BORDER},
        ),
        # a hedge far off in a long sentence does not cancel the deployment at its start
        (
            "Regime moves troops",
            "Troops and tanks were deployed near the border on Monday, weeks after the old"
            " military pact between the two neighbours was suspended.",
            {BORDER},
        ),
        # "self-ruled" is a place, not a court ruling
        ("Navy drills near the self-ruled island rattle markets", "", {TROOP}),
        # sports words elsewhere in the text do not cancel a movement in the headline
        ("Army deployed to the capital as unrest spreads", "Football fans were kept home.", {TROOP}),
        # a preposition after the movement noun does not make it background (PRE/n):
        # "withdrawal after the attacks" is the news, "talks after the withdrawal" is not
        ("Mercenaries complete withdrawal from the town after heavy attacks", "", {TROOP}),
        ("Navies start joint drills amid rising tension in the strait", "", {TROOP}),
        # arms move by themselves with a force's verbs (a shipment's are below)
        ("Rockets on trucks seen moving north through the town", "", {TROOP}),
        # a clash after which forces move: the clash is the backdrop
        ("Troops reinforce the border after clashes overnight", "", {BORDER}),
        # a launch during an exercise is the exercise
        ("Navy test-fires missiles during war games in the gulf", "", {TROOP}),
        # offensives, positions overrun, raids across a border, staged exercises, subs
        ("Militia claims to have overrun a village near the frontier", "", {TROOP}),
        ("Army launches ground offensive in the north", "", {TROOP}),
        # "sends a message" is said of real deployments; a launch after which
        # forces drill is the backdrop of the drill
        ("Aircraft carrier arrives in the bay to send a message to the rival", "", {TROOP}),
        ("Allied air forces hold bombing drills after the rival fires a missile", "", {TROOP}),
        ("Allies stage a joint air exercise after the launch", "", {TROOP}),
        ("Navy to deploy nuclear-armed subs to the peninsula", "", {TROOP}),
        ("Rebel forces mount cross-border raid on two villages", "", {TROOP}),
        ("Regime restores troops at the border after scrapping the pact", "", {BORDER}),
        # an order is a movement; "wants ... to leave" (below) is not
        ("Government orders foreign troops to leave the capital by Friday", "", {TROOP}),
        ("Peacekeepers to leave the buffer zone next month, ministry says", "", {TROOP}),
        # a place that is a frontier by itself (a named corridor, an enclave, a border
        # region of a watched stand-off) is a border without the word
        ("Army sends more soldiers to the Suwalki Gap", "", {BORDER}),
        ("Spain sends extra troops to its enclave of Melilla", "", {BORDER}),
        ("Thousands of reservists deployed to the Belgorod region", "", {BORDER}),
        # a headline that places counted or named troops somewhere reports a presence
        ("Minister says the enemy has 30,000 soldiers in the southern province", "", {TROOP}),
        ("Marines appear in the port city as the governor protests", "", {TROOP}),
        ("Foreign mercenaries assemble in the mining region, officials say", "", {TROOP}),
        ("Marines reach the outskirts of the port after a two-day march", "", {TROOP}),
        # a modal or hedging adjective after the movement judges something else
        ("Navy destroyer sails to the gulf for a possible escort mission", "", {TROOP}),
        ("Troops deployed to the capital could stay until the spring", "", {TROOP}),
        # a speech verb before the force reports it; after it ("the army says") the
        # force is the speaker
        ("Officials said troops were moving towards the capital overnight", "", {TROOP}),
        # vocabulary: transfers, docking, parachuting, beefing up, call-ups
        ("Army transfers two battalions to the southern front", "", {TROOP}),
        ("Navy destroyer docks in the island's main port", "", {TROOP}),
        # a destroyer is a warship, not a combat word
        ("Destroyer leaves port for the northern sea", "", {TROOP}),
        ("Paratroopers parachuted into the valley at dawn", "", {TROOP}),
        ("Government beefs up its battalion in the north", "", {TROOP}),
        ("Thousands of reservists called up for the winter", "", {TROOP}),
        ("Troops deployed along the border for a possible operation", "", {BORDER}),
        # a hedge in another clause ("as", "while") does not undo the movement
        ("Troops arrive in the port as the governor rejects the order", "", {TROOP}),
        ("Marines appear in the capital as the mayor refuses to meet them", "", {TROOP}),
        ("Army advances on the capital while ministers plan talks", "", {TROOP}),
        # armour sent to one's own border is a deployment, not a transfer
        ("State to send armoured vehicles to the border", "", {BORDER}),
        # soldiers standing in for striking workers is a domestic deployment
        ("Soldiers to cover for striking border staff over the holidays", "", {TROOP}),
        # advances told with their particles, and where they have got to
        ("Armoured columns close in on the provincial capital", "", {TROOP}),
        ("Marines push on from the port towards the river", "", {TROOP}),
        ("Infantry cross the last bridge before the city", "", {TROOP}),
        ("Allied forces gain ground in the southern desert", "", {TROOP}),
        ("Tanks rumble through the old town at dawn", "", {TROOP}),
        ("Forward troops 40 km from the capital, reports say", "", {TROOP}),
        ("Government commits troops to the allied mission", "", {TROOP}),
        ("Reserve soldiers join the front line in the east", "", {TROOP}),
        ("Soldiers spotted at the regional airport overnight", "", {TROOP}),
        ("Garrison troops abandoned their base before dawn", "", {TROOP}),
        ("Pentagon deploys second carrier to the region", "", {TROOP}),
        # a state or armed group as the actor of an invasion or incursion (headline)
        ("Russia invades Ukraine", "", {TROOP}),
        ("Ukraine launches incursion into Russia's Kursk region", "", {TROOP}),
        ("Turkey pushes into northern Syria", "", {TROOP}),
        ("Troops surged into the northern city overnight", "", {TROOP}),
        # "would" in reported speech is an announcement's "will"
        ("The ministry said on Monday it would send 1,500 troops to the north", "", {TROOP}),
        # more forces told in a headline; a way headed
        ("More troops for the northern province", "", {TROOP}),
        ("Extra marines to the gulf after the attack", "", {TROOP}),
        ("Fresh troops head north to the front", "", {TROOP}),
        # moving towards a border to build up there
        ("Military heads to the eastern border as tension rises", "", {BORDER}),
        ("Forces move towards the border after the talks fail", "", {BORDER}),
        # holding a border: patrols and guards posted on it, a zone taken over
        ("Army patrols along the northern border begin", "", {BORDER}),
        ("Soldiers standing guard on the border as the crossing stays shut", "", {BORDER}),
        ("Troops ordered to take over the buffer zone along the border", "", {BORDER}),
        # a decided plan is a decision, not a hedge
        ("Ministry has approved plans to cut troops in the north", "", {TROOP}),
        ("Government announced plans to withdraw its soldiers from the island", "", {TROOP}),
        # under way to a destination, leaving a country
        ("Carrier strike group approaching the gulf as tension mounts", "", {TROOP}),
        ("Two destroyers making their way to the eastern sea", "", {TROOP}),
        ("4,000 troops exit the southern province after ten years", "", {TROOP}),
        # a fear in the background ("amid fears of invasion") does not hedge the news
        ("Ruritania sends 300 troops to the north amid fears of an invasion", "", {TROOP}),
        # an order that names its forces and where they go
        ("Ministry to order 2,500 reserve soldiers to the coast", "", {TROOP}),
        # closing on a place; forces built up
        ("Aircraft carrier nears the coast as the crisis deepens", "", {TROOP}),
        ("Ruritania builds up forces on the island", "", {TROOP}),
        # a military build-up named at a border, with no force word
        ("Russian build-up at the northern border continues, officials say", "", {BORDER}),
        # a question asking why or how says that they go
        ("Why is the navy sending warships to the strait?", "", {TROOP}),
        # a movement verb split by its object
        ("Ruritania to pull its 1,200 soldiers out of the enclave", "", {TROOP}),
        ("Government brings the marines home after six months", "", {TROOP}),
        # a defence force named as such
        ("Defence Force personnel sent to the flooded valley", "", {TROOP}),
        # an order to prepare for a deployment that is only possible is still an alert state
        ("Ministry orders 900 troops to prepare for possible deployment abroad", "", {TROOP}),
        # forces mobilised to a border
        ("Ruritania mobilises troops to the Freedonian border", "", {BORDER}),
        ("Ruritania to pull its remaining forces from the enclave", "", {TROOP}),
        # forces made ready for a deployment; exercises a state joins; forces received
        ("Ministry preparing 800 soldiers for potential deployment to the capital", "", {TROOP}),
        ("Navies of three countries join in Coral Sea drills", "", {TROOP}),
        ("Ruritania receives 900 Freedonian army troops", "", {TROOP}),
        # ships where they have arrived; alliance aircraft; a deployment authorised
        ("Carrier strike group operates in the Coral Sea", "", {TROOP}),
        ("Two destroyers visit the port of Freedonia", "", {TROOP}),
        ("NATO aircraft to arrive in Iceland for routine exercises", "", {TROOP}),
        # "caught on camera" is how it was seen, not a camera deployed
        ("Navy launches largest drills in the strait, with live-fire exercises caught on camera", "", {TROOP}),
        ("Governor authorizes National Guard deployment to the city", "", {TROOP}),
        # marching (not the month), rotating, a port call after a ship's name, police at a border
        ("Soldiers marching towards the capital, witnesses say", "", {TROOP}),
        ("Marines rotate out of the base after nine months", "", {TROOP}),
        ("Navy destroyer Freedonia Star makes a rare port call in the capital", "", {TROOP}),
        ("Ministry sends 300 more police officers to the border", "", {BORDER}),
        ("The last foreign troops have now left the base", "", {TROOP}),
        # clashes in the background ("as clashes continue") do not make it a combat report
        ("Army steps up patrols along the northern border as clashes continue", "", {BORDER}),
        # the migrants' hedge is theirs, in another clause; a proposal approved is decided
        ("Army deployed at the southern border as migrants seek to enter", "", {TROOP, BORDER}),
        ("Ministry approves proposal to redeploy 2,000 troops from the north", "", {TROOP}),
        ("Freedonia launches security operations along its northern border", "", {BORDER}),
        # a carrier on the move in a headline; a presence ended; forces committed in a push
        ("Second carrier enters the gulf, officials say", "", {TROOP}),
        ("Ruritania ends military presence in Freedonia", "", {TROOP}),
        ("The army commits new forces in a southward push", "", {TROOP}),
        ("1,000 more troops will be stationed in the north", "", {TROOP}),
        # a state advancing on, pushing deeper into or withdrawing from a place
        ("Russia advances on the river port as defenders regroup", "", {TROOP}),
        ("Israel pushes deeper into the northern district", "", {TROOP}),
        ("Russia withdraws from the border town", "", {TROOP}),
        # a first told as "historic"; fighter types; readiness raised; battalions summoned
        ("Attack submarine makes historic first port call in the capital", "", {TROOP}),
        ("F-22 Raptors arrive in the north for air policing", "", {TROOP}),
        ("Ministry places 8,500 troops on heightened readiness", "", {TROOP}),
        ("After the earthquake, the government summons battalions to the region", "", {TROOP}),
        ("Ruritanian military rolls toward the capital", "", {TROOP}),
        ("Some military personnel told to leave the bases in the gulf", "", {TROOP}),
        ("Carrier strike group conducts maritime operations in the Coral Sea", "", {TROOP}),
        ("Two NATO ships have arrived in the northern gulf", "", {TROOP}),
        ("Navy hospital ship arrives in the harbour", "", {TROOP}),
        ("President announces troop withdrawal plan for the island", "", {TROOP}),
        ("Troops deployed to the border fire tear gas at the crowd", "", {BORDER}),
        # a departure told after a list of the forces' countries
        ("Peacekeepers from France, Italy and Spain leave the island", "", {TROOP}),
        ("Army on 'highest alert' over the protests in the north", "", {TROOP}),
        ("Troops opposed to the regime move into the capital", "", {TROOP}),
        # a state reinforcing its border; fighter jets at a border are forces, not fighting
        ("Tajikistan to reinforce its border with Afghanistan", "", {BORDER}),
        ("Deployment of troops and fighter jets at the northern border", "", {BORDER}),
        ("Army to conduct live-fire drill near the Freedonian border", "", {BORDER}),
        # security stepped up along a border; drones deployed there
        ("Ruritania beefs up security along its northern border", "", {BORDER}),
        ("Ruritania's drone deployment to the border raises stakes", "", {BORDER}),
    ],
)
def test_real_movements_alert(matcher: Matcher, title: str, text: str, expected: set[str]) -> None:
    assert expected <= fired(matcher, title, text)


MOVEMENT_LISTS = {TROOP, BORDER}


@pytest.mark.parametrize(
    ("why", "title", "text"),
    [
        (
            "weapons shipment",
            "Germany to send heavy weapons and ammunition to Kyiv",
            "The delivery of howitzers is part of a new aid package.",
        ),
        (
            "aid shipment",
            "US announces new military aid package for Ukraine",
            "The package includes rockets and armoured vehicles to be delivered next month.",
        ),
        (
            "refused deployment",
            "Britain will not send troops to Ukraine, minister says",
            "",
        ),
        (
            "conditional deployment",
            "France says it could send troops if Russia attacks",
            "",
        ),
        (
            "diplomacy with a build-up as background",
            "Leaders meet for crisis talks",
            "The talks come amid a troop build-up near the border.",
        ),
        (
            "a movement noun after a background preposition",
            "Casualties rise in the villages after the troop withdrawal",
            "",
        ),
        (
            "a wish or demand that others move, told as 'wants X to <move>'",
            "Capital wants the foreign troops to leave the island immediately",
            "",
        ),
        (
            "the same with the request further from the verb",
            "President urges the allied navies in the region to send more warships",
            "",
        ),
        (
            "an arms shipment told with a movement verb",
            "Western tanks finally arrive in the capital of the ally",
            "",
        ),
        (
            "an arms shipment, sending",
            "Government sending long-range missiles to its ally, minister confirms",
            "",
        ),
        (
            "'military' qualifying a thing sent",
            "Country sending military equipment to its neighbour, officials claim",
            "",
        ),
        ("a visit to forces", "Prince makes surprise visit to troops near the frontier", ""),
        ("leaving talks", "Army pulls out of ceasefire talks with the rebels", ""),
        ("an exchange of fire at a border crossing", "Guards trade fire at the main border crossing", ""),
        ("what an army sends that is not forces", "Army sends envoys for truce talks", ""),
        (
            "a missile launch beside others' drills",
            "Country launches two missiles toward the sea as its rivals hold drills",
            "",
        ),
        ("a death, no movement", "Reservist from the city is killed near the frontier", ""),
        ("an offensive only named, not launched", "Minister says offensive aimed at the army", ""),
        ("police, not the military", "Police forces on alert ahead of the verdict", ""),
        (
            "diplomacy with a deployment in the text",
            "Leaders agree on efforts to de-escalate border tensions",
            "Troops were deployed along the frontier three years ago.",
        ),
        ("a denial", "Commander denies deployment to the front line", ""),
        ("a willingness", "Island nation willing to send soldiers to the mission", ""),
        (
            "a frontier place with no forces",
            "Tourists return to Ladakh as the passes reopen",
            "",
        ),
        (
            "protest convoy",
            "Truckers' freedom convoy arrives in the capital",
            "The convoy of lorries blocked the streets.",
        ),
        (
            "lorry queue at a border",
            "Lorries queue for 20 km at the Polish border crossing",
            "Freight drivers waited two days at the border.",
        ),
        (
            "refugees at a border",
            "Refugees gather at the border as winter comes",
            "Thousands of families waited at the frontier.",
        ),
        (
            "software deployment",
            "Bank completes deployment of new software",
            "The rollout moved all branches to the new system.",
        ),
        (
            "proposal",
            "Washington is considering sending warships to the region",
            "",
        ),
        (
            "negated alert",
            "Army says soldiers are not on alert",
            "",
        ),
        (
            "sports withdrawal",
            "Champion withdraws from the tournament",
            "The league confirmed the withdrawal after an injury.",
        ),
        (
            "legal frame: a court about a deployment",
            "Court blocks the deployment of National Guard troops to the city",
            "",
        ),
        (
            "readiness is not a movement",
            "Minister says the country stands ready to send troops if asked",
            "",
        ),
        (
            "the forces as an institution or a speaker",
            "Navy chief leaving post after ten years, ministry says",
            "",
        ),
        (
            "retrospective: a ceremony",
            "Veterans mark the anniversary of the landing as troops parade",
            "",
        ),
        (
            "sports crowd build-up",
            "Fans gather in Boston in the build-up to the cup final",
            "Supporters of the national side arrived by the thousands.",
        ),
        (
            "an explainer about deployments",
            "Here's where the alliance's forces are deployed across the region",
            "",
        ),
        (
            "a relief task only weighed",
            "Government could ask soldiers to deliver fuel to petrol stations",
            "",
        ),
        (
            "a demand is not a movement",
            "Leader tells the neighbouring country to withdraw its troops immediately",
            "",
        ),
        (
            "one soldier is a person, not a force",
            "Soldier detained after crossing the border on foot",
            "",
        ),
        (
            "an accident during a drill is an accident report",
            "Helicopter crash halts joint military exercise, two missing",
            "The drill involved soldiers from four countries.",
        ),
        (
            "a hedged headline is not undone by its lead",
            "Ministers weigh whether to keep extra troops deployed in the east",
            "About 3,000 troops were deployed to the region last year.",
        ),
        (
            "a demand that forces leave",
            "Foreign troops need to leave the islands, new president says",
            "The president-elect will ask the troops stationed on the islands to leave.",
        ),
        (
            "a deployment only expected",
            "Ground forces are expected to enter the city within days",
            "",
        ),
        (
            "a vow is not a deployment",
            "Regime vows to deploy new weapons along the border",
            "",
        ),
        (
            "weapons handed out to civilians",
            "Authorities hand out rifles to civil defence volunteers near the border",
            "",
        ),
        (
            "business units are not units of an army",
            "Company sends business units across the border as tax rises",
            "",
        ),
        (
            "troops kept in a place is no movement",
            "Government poised to keep its soldiers in the enclave past the deadline",
            "",
        ),
        (
            "troops in a place who were attacked is a combat report",
            "Soldiers in the northern garrison wounded in a night attack",
            "",
        ),
        (
            "someone who worked with troops is not troops placed",
            "Translator who served with foreign troops stranded in the capital",
            "",
        ),
        (
            "a modal before the movement: nothing has moved",
            "Navy could send a second destroyer to the gulf",
            "",
        ),
        (
            "a modal before a border deployment",
            "Government could deploy extra troops along the border",
            "",
        ),
        (
            "'any' before the movement: a condition or a denial",
            "Any soldiers sent abroad will need a vote in parliament",
            "",
        ),
        (
            "a promise to send is not a movement",
            "General promises to send a brigade to the coast",
            "",
        ),
        (
            "an airline's fleet is not a navy",
            "Airline to double its fleet by next year",
            "",
        ),
        (
            "'doubles as' is not a doubling of forces",
            "Reservist who doubles as a football coach wins award",
            "",
        ),
        (
            "an explainer asking who they are",
            "Who are the mercenaries fighting in the desert?",
            "",
        ),
        (
            "an army ordered to do something that is not a movement",
            "Army ordered to help farmers with the harvest",
            "",
        ),
        (
            "a retrospective a year on",
            "Marines who withdrew from the city look back a year on",
            "",
        ),
        (
            "an ambush near a border is a combat report, not a deployment",
            "Rebel ambush kills six soldiers in the border area",
            "",
        ),
        (
            "an air raid in a frontier region is a combat report",
            "Jets in fourth air raid over the border region this month",
            "Helicopter gunships attacked positions near the border, the army said.",
        ),
        (
            "a hedge in the movement's own clause still hedges it",
            "Army could advance on the capital as talks stall",
            "",
        ),
        (
            "a modal after a movement noun hedges it",
            "Charity appeal for flood victims",
            "The ministry has offered help. The deployment would involve troops from a battalion.",
        ),
        (
            "a headline about an aid package is a transfer",
            "Government announces new package of security assistance for its ally",
            "Rocket launchers seen during a military exercise last year.",
        ),
        (
            "a modal between the force and its movement",
            "Extra soldiers may be deployed to the region next week",
            "",
        ),
        (
            "a hedging adjective before the movement noun",
            "Ministers discuss a potential deployment of troops to the island",
            "",
        ),
        (
            "police forces are not the military",
            "Police forces deployed to the stadium after the match",
            "",
        ),
        (
            "the army as a speaker",
            "Army says soldiers' pay will rise next year",
            "",
        ),
        (
            "tanks transferred to an ally are a shipment",
            "Ministry transfers tanks to its neighbour's army",
            "",
        ),
        (
            "a crew that bails out is not a parachute drop",
            "Navy pilots parachute to safety before the jet crashes",
            "",
        ),
        (
            "'forces' as a verb",
            "Wildfire forces residents to leave their homes",
            "",
        ),
        (
            "a commander arriving is a person, not forces",
            "Allied forces commander arrives for talks",
            "",
        ),
        (
            "troops left where they are",
            "President decides to leave troops in the region",
            "",
        ),
        (
            "a presence kept",
            "Soldiers in the capital to stay until the new year",
            "",
        ),
        (
            "troops committed to a cause",
            "Soldiers committed to peace, general tells the nation",
            "",
        ),
        (
            "an invasion only prepared for",
            "Allied troops prepare for an invasion of the island",
            "",
        ),
        (
            "attackers driven back: fighting",
            "Government forces drive back rebel troops in the north",
            "",
        ),
        (
            "drills cut back",
            "Government to scale back military drills with its ally",
            "",
        ),
        (
            "a deployment with a deadline years ahead",
            "Navy to deploy missiles on the southern islands by 2030",
            "",
        ),
        (
            "more forces only needed",
            "More troops needed in the north, general says",
            "",
        ),
        (
            "more soldiers as casualties",
            "More soldiers killed in the east overnight",
            "",
        ),
        (
            "a court case about a deployment",
            "Appeals court ruling sets the rules for Guard troops sent to the city",
            "",
        ),
        (
            "technology deployed, not forces",
            "Navy to start deploying new sensor technology in the strait",
            "",
        ),
        (
            "people who serve the forces",
            "Ministry sends military lawyers to the overloaded courts",
            "",
        ),
        (
            "something else surged",
            "Killings by insurgents have surged since the military took power",
            "",
        ),
        (
            "technology deployed some words after the verb",
            "Navy will be deploying a new generation of drone-based countermeasures",
            "",
        ),
        (
            "'would' as a condition",
            "Britain would deploy troops to the region, minister hints",
            "",
        ),
        (
            "'could' even in reported speech",
            "Officials said troops could be deployed to the region",
            "",
        ),
        (
            "an invasion asked about",
            "Will Russia invade Ukraine this winter?",
            "",
        ),
        (
            "an invasion explained",
            "Why did China invade the island in the film",
            "",
        ),
        (
            "a right reserved",
            "Parliament reserves the right to deploy troops abroad",
            "",
        ),
        (
            "a hope",
            "Allied forces hopeful of reaching the capital soon",
            "",
        ),
        (
            "an invasion only feared, threatened or hypothetical",
            "Fears that Russia will invade grow in the Baltics",
            "",
        ),
        (
            "an invasion only possible",
            "China could invade Taiwan, admiral warns",
            "",
        ),
        (
            "an invasion as a condition",
            "If Russia invades, sanctions will follow",
            "",
        ),
        (
            "a withdrawal from a treaty is not an incursion",
            "Russia withdraws from the arms treaty",
            "",
        ),
        (
            "a yes/no question only asks whether troops go",
            "Will the government send troops to the northern border?",
            "",
        ),
        (
            "a headline question after a label",
            "Border crisis: is the army massing tanks near the frontier?",
            "",
        ),
        (
            "forces ordered as equipment, not sent",
            "Minister ordered tanks and helicopters, the audit found",
            "",
        ),
        (
            "a feared invasion is not one",
            "Fears of an invasion grow as talks stall",
            "",
        ),
        (
            "a build-up of lorries is not forces",
            "Build-up of lorries at the border as checks resume",
            "",
        ),
        (
            "a plan not yet decided",
            "Ministry plans to cut troops in the north next decade",
            "",
        ),
        (
            "fighting at a border is a combat report",
            "Troops exchange fire along the border overnight",
            "Militants attacked several army posts along the frontier.",
        ),
        ("a poll about a deployment", "Poll: most voters oppose Guard deployments to cities", ""),
        (
            "a lawsuit about a deployment",
            "City sues governor over National Guard deployment",
            "Hundreds of Guard troops were deployed to the city last month.",
        ),
        ("troops pledged, not sent", "Twenty countries pledge troops to deploy to the region", ""),
        (
            "a deployment on a condition later in the headline",
            "Ruritania preparing to send troops to the island as part of a new force if a peace deal is signed",
            "",
        ),
        ("money to prepare for a deployment", "Budget earmarks funds to prepare for a possible troop deployment", ""),
        ("a school's fire drills", "School holds fire drills for pupils", ""),
        ("a visit to a ship", "Minister visits the new destroyer in dry dock", ""),
        ("an airliner's aircraft", "Airline aircraft to arrive in the capital for the air show", ""),
        ("cameras deployed", "Police deploy new cameras across the capital", ""),
        ("an army of helpers", "An army of volunteers is heading to the flooded town", ""),
        ("a state preparing to send troops", "Ruritania is preparing to send troops to the zone, media say", ""),
        ("talks about a pull-back", "Two neighbours talk disengagement at the lake", ""),
        ("a plan drawn up", "Ruritania draws up roadmap with Freedonia to reinforce the eastern flank", ""),
        ("a pact signed about a deployment", "Three leaders sign troop deployment pact for the peace force", ""),
        ("a mobile carrier", "Mobile carrier arrives in new market", ""),
        ("a state leaving a body", "France withdraws from the world health body", ""),
        ("a state leaving a contest", "France pulls out of the song contest", ""),
        ("a missile fired off", "Watch the navy destroyer fire off a missile for the first time", ""),
        ("drills ended", "Two allies end spring military drills to back diplomacy", ""),
        ("talk of cuts", "Commander defends troop levels amid talk of cuts", ""),
        ("a demand to withdraw", "Prime minister tells peacekeepers to withdraw immediately", ""),
        ("strikes, not a movement", "Destroyer conducts strike operations off the coast", ""),
        ("cargo ships", "Cargo ships arrive in the port after the storm", ""),
        ("a state leaving, no forces named", "Delegates from France and Italy leave the summit early", ""),
        ("a minister opposing a deployment", "Minister says he opposes using the army to quell unrest in the cities", ""),
        (
            "tear gas deployed by border agents",
            "Protesters clash with federal agents at the hotel, as agents deploy tear gas",
            "Protesters were arrested after clashing with federal agents, who used tear gas "
            "after a shooting by Border Patrol agents. Border Patrol agents were seen standing "
            "near the entrance to the hotel.",
        ),
        ("a border fence reinforced", "Poland to reinforce border fence with Belarus", ""),
        ("fighters trying to breach a border", "Armed fighters try to breach the border amid protests", ""),
        ("anti-drone works at a border", "Ruritania preparing anti-drone fortifications along its eastern border", ""),
        ("a company ends operations", "Company ends operations in the capital", ""),
        (
            "'a move' is a decision",
            "Ministry bans exports of dual-use goods",
            "The ban on goods for military use is a move that escalates tensions, officials said.",
        ),
        (
            "forces only said to be stationed somewhere",
            "Commander praises the alliance",
            "The commander of foreign forces stationed in the country said the alliance is strong.",
        ),
        (
            "detainees moved by the military",
            "Unrest sparks fears of prison breaks",
            "The military rushed detainees out of the region and into a neighbouring country.",
        ),
        (
            "a plan rejected, with its forces named in the lead",
            "President rejects plan to send troops across the border",
            "Thousands of troops were deployed along the border last year.",
        ),
        ("the month, not a march", "Soldiers to get a pay rise from March, ministry says", ""),
        (
            "a modal five words before",
            "Here are the cities the president could target with National Guard deployments next year",
            "",
        ),
    ],
)
def test_false_friends_stay_quiet(matcher: Matcher, why: str, title: str, text: str) -> None:
    assert not (fired(matcher, title, text) & MOVEMENT_LISTS), why


def test_actor_list_quiet_on_sport_and_culture(matcher: Matcher) -> None:
    assert "russia-belarus-ukraine" not in fired(
        matcher, "Belarus beat Ukraine 2-1 in a football friendly", "Lukashenko watched the match."
    )
    assert "russia-belarus-ukraine" in fired(
        matcher, "Лукашенко: российские войска прибыли в Беларусь", ""
    )


def test_seed_article_alerts_on_troops_with_a_clean_summary(matcher: Matcher) -> None:
    raw = (Path(__file__).resolve().parent.parent / "samples" / "seed-article.txt").read_text(
        encoding="utf-8"
    )
    title, _, text = raw.partition("\n")
    matches = {m.watchlist: m for m in analyse(Article(title=title, text=text), matcher)}
    assert TROOP in matches
    summary = matches[TROOP].summary
    assert "arrived in Belarus" in summary
    assert "Moscow Times" not in summary and "Remind me later" not in summary


def test_troop_and_border_lists_share_their_force_and_hedge_vocabulary() -> None:
    """Both lists take forces, hedges and frames from the one shared lexicon, and
    neither shadows a shared group with a copy of its own (copies drift apart)."""
    watchlists = {wl.name: wl for wl in load_dir(BUNDLED)[0]}
    for name in (TROOP, BORDER):
        wl = watchlists[name]
        assert wl.use == ["military"], name
        shared = set(wl.lexicons[0].groups)
        for group in ("personnel", "hedge", "background", "frame", "diplomacy", "transfer"):
            assert group in shared
        assert not shared & set(wl.groups), f"{name} redefines {shared & set(wl.groups)}"


def test_a_long_story_about_something_else_does_not_alert(matcher: Matcher) -> None:
    """Zones: a deployment mentioned deep in a long article whose headline and lead are
    about something else is not a movement story; the same sentence as the lead is."""
    aside = "Last year troops were deployed to the border and tanks moved north."
    filler = " ".join(
        f"Paragraph {i} of the council's report discusses parks, schools and bus routes."
        for i in range(40)
    )
    text = "The city council approved its budget for parks on Tuesday. " + filler + " " + aside
    assert not fired(matcher, "City council approves new budget", text) & MOVEMENT_LISTS
    lead_first = aside + " " + filler
    assert TROOP in fired(matcher, "Troops on the move", lead_first)


def test_a_false_friend_deep_in_the_body_does_not_cancel_the_headlines_news(
    matcher: Matcher,
) -> None:
    """Zones: the exclusions (arms shipments, civilian convoys) are judged where the
    news is, the headline and lead; a background paragraph about an arms sale far down
    a long story does not cancel the warships its headline reports."""
    filler = " ".join(
        f"Paragraph {i} recalls the history of the strait and its fishing towns." for i in range(30)
    )
    body = (
        "Four warships sailed into the strait on Monday, the navy said. "
        + filler
        + " Last year the government approved an arms sale of missiles to the island."
    )
    assert TROOP in fired(matcher, "Warships sail into the strait", body)
    shipment = "The navy said missiles were delivered to the island as part of an arms sale."
    assert TROOP not in fired(matcher, "Missiles delivered to the island", shipment)
